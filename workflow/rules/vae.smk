rule train_vae:
    input:
        data=rules.prepare_data.output[0],
    output:
        "results/vae/{dataset}.pt",
    log:
        "results/logs/train_vae/{dataset}.log",
    benchmark:
        "results/benchmarks/train_vae/{dataset}.tsv"
    params:
        vae=lambda wc: config["vae"],
    threads: 1
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/train_vae.py"
