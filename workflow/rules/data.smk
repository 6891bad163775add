rule prepare_data:
    output:
        "results/data/{dataset}.h5",
    log:
        "results/logs/prepare_data/{dataset}.log",
    params:
        prepare=lambda wc: cfg.data_params(config, wc.dataset),
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/prepare_data.py"
