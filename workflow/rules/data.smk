rule prepare_data:
    output:
        "results/data/{dataset}.h5",
    log:
        "results/logs/prepare_data/{dataset}.log",
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(4000),
        runtime=grow(30),
    params:
        prepare=lambda wc: cfg.data_params(config, wc.dataset),
    script:
        "../scripts/prepare_data.py"
