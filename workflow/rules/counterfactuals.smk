rule counterfactuals:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
        vae=evaluation_vae_input,
    output:
        expand(
            "results/counterfactuals/{{experiment}}/{{dataset}}/{{objective}}/seed{{seed}}/{tag}.h5",
            tag=wf.energy_tags(config),
        ),
    log:
        "results/logs/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(4000),
        runtime=grow(60),
        slurm_partition=lambda wc: partition_for(wc.dataset),
    params:
        spec=run_spec,
        settings=eval_settings,
    script:
        "../scripts/counterfactuals.py"
