rule counterfactuals:
    input:
        data=data_input,
        model=rules.train.output.model,
        vae=evaluation_vae_input,
    output:
        expand(paths.COUNTERFACTUALS, tag=wf.energy_tags(config), allow_missing=True),
    log:
        paths.log("counterfactuals"),
    benchmark:
        paths.benchmark("counterfactuals")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(4000),
        runtime=grow(60),
    params:
        spec=run_identity,
        settings=search_settings,
    script:
        "../scripts/counterfactuals.py"
