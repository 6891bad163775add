rule counterfactuals:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
    output:
        [wf.CF_DIR + f"/{tag}.h5" for tag in wf.energy_tags(config)],
    log:
        "results/logs/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    params:
        spec=run_spec,
        settings=eval_settings,
    threads: 1
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/counterfactuals.py"
