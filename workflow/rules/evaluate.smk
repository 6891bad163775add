rule evaluate:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
        counterfactuals=rules.counterfactuals.output,
    output:
        metrics="results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/counterfactual_metrics.csv",
        performance="results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/performance.csv",
    log:
        "results/logs/evaluate/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    params:
        spec=run_spec,
        settings=eval_settings,
    threads: 1
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/evaluate.py"


rule attributions:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
    output:
        "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/ig.csv",
    log:
        "results/logs/attributions/{experiment}/{dataset}/{objective}/seed{seed}.log",
    benchmark:
        "results/benchmarks/attributions/{experiment}/{dataset}/{objective}/seed{seed}.tsv"
    params:
        spec=run_spec,
        settings=eval_settings,
    threads: 1
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/attributions.py"


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


rule ig_maps:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
    output:
        "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/ig_maps.h5",
    log:
        "results/logs/ig_maps/{experiment}/{dataset}/{objective}/seed{seed}.log",
    params:
        seed=lambda wc: config["evaluation"]["seed"],
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/ig_maps.py"


rule examples:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
        peers=lambda wc: wf.example_peers(config, wc),
    output:
        "results/examples/{experiment}/{dataset}/{objective}/seed{seed}/{kind}.h5",
    log:
        "results/logs/examples/{experiment}/{dataset}/{objective}/seed{seed}/{kind}.log",
    params:
        spec=run_spec,
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/examples.py"


rule collect:
    input:
        lambda wc: wf.per_model(config, wc.collected),
    output:
        report(
            "results/tables/{collected}.csv",
            caption="../report/collected.rst",
            category="Tables",
            subcategory="Tidy per-run results",
        ),
    log:
        "results/logs/tables/{collected}.log",
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/collect_csv.py"


rule table:
    input:
        lambda wc: wf.table_inputs(config, wc.table),
    output:
        csv=report(
            "results/tables/{table}.csv",
            caption="../report/table.rst",
            category="Tables",
            subcategory="Paper tables",
        ),
        tex="results/tables/{table}.tex",
    log:
        "results/logs/tables/{table}.log",
    params:
        datasets=lambda wc: list(config["datasets"]),
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/table.py"
