rule train:
    input:
        data=rules.prepare_data.output[0],
        vae=vae_input,
    output:
        model=wf.MODEL_DIR + "/model.pt",
        history=wf.MODEL_DIR + "/training_log.csv",
        config=wf.MODEL_DIR + "/config.yaml",
    log:
        "results/logs/train/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    params:
        spec=run_spec,
        checkpoint=wf.MODEL_DIR + "/checkpoint.pt",
    threads: 1
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/train.py"
