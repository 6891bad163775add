rule train_vae:
    input:
        data=rules.prepare_data.output[0],
    output:
        paths.VAE,
    log:
        paths.log("train_vae", "{dataset}"),
    benchmark:
        paths.benchmark("train_vae", "{dataset}")
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
