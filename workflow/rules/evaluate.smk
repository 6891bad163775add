rule evaluate:
    input:
        data=rules.prepare_data.output[0],
        counterfactuals=rules.counterfactuals.output,
    output:
        "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/counterfactual_metrics.csv",
    log:
        "results/logs/evaluate/{experiment}/{dataset}/{objective}/seed{seed}.log",
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    params:
        spec=run_spec,
        settings=eval_settings,
    script:
        "../scripts/evaluate.py"


rule decision_surface:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
    output:
        "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/decision_surface.h5",
    log:
        "results/logs/decision_surface/{experiment}/{dataset}/{objective}/seed{seed}.log",
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/decision_surface.py"


rule counterfactual_table:
    input:
        lambda wc: wf.all_scores(config),
    output:
        report(
            "results/tables/counterfactual_metrics.csv",
            caption="../report/counterfactual_metrics.rst",
            category="Tables",
        ),
    log:
        "results/logs/tables/counterfactual_metrics.log",
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/collect_csv.py"
