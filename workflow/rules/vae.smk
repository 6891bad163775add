rule train_vae:
    input:
        data=rules.prepare_data.output[0],
    output:
        "results/vae/{dataset}.pt",
    log:
        "results/logs/train_vae/{dataset}.log",
    benchmark:
        "results/benchmarks/train_vae/{dataset}.tsv"
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        **device_resources(config["device"]),
        mem_mb=grow(4000),
        runtime=grow(120),
    params:
        vae=lambda wc: config["vae"],
    script:
        "../scripts/train_vae.py"
