rule train:
    input:
        data=data_input,
        vae=vae_input,
    output:
        model=paths.MODEL,
        history=paths.TRAINING_LOG,
        config=paths.MODEL_CONFIG,
    log:
        paths.log("train"),
    benchmark:
        paths.benchmark("train")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        **device_resources(config["device"]),
        mem_mb=grow(8000),
        runtime=grow(240, cap=MAX_GPU_RUNTIME_MIN),
    params:
        spec=run_spec,
        checkpoint=paths.CHECKPOINT,
    script:
        "../scripts/train.py"
