rule train:
    input:
        data=rules.prepare_data.output[0],
        vae=vae_input,
    output:
        model="results/models/{experiment}/{dataset}/{objective}/seed{seed}/model.pt",
        history="results/models/{experiment}/{dataset}/{objective}/seed{seed}/training_log.csv",
        config="results/models/{experiment}/{dataset}/{objective}/seed{seed}/config.yaml",
    log:
        "results/logs/train/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        **device_resources(config["device"]),
        mem_mb=grow(8000),
        runtime=grow(240, cap=MAX_GPU_RUNTIME_MIN),
    params:
        spec=run_spec,
        checkpoint="results/models/{experiment}/{dataset}/{objective}/seed{seed}/checkpoint.pt",
    script:
        "../scripts/train.py"
