# Counterfactual metrics and model performance are separate jobs: an attack setting (e.g. PGD
# steps) must not re-score the counterfactuals, nor a scoring setting re-run the attacks.
rule evaluate:
    input:
        data=data_input,
        counterfactuals=rules.counterfactuals.output,
    output:
        paths.COUNTERFACTUAL_METRICS,
    log:
        paths.log("evaluate"),
    benchmark:
        paths.benchmark("evaluate")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(8000),
        runtime=grow(60),
    params:
        spec=run_identity,
        settings=scoring_settings,
    script:
        "../scripts/evaluate.py"


rule performance:
    input:
        data=data_input,
        model=rules.train.output.model,
    output:
        paths.PERFORMANCE,
    log:
        paths.log("performance"),
    benchmark:
        paths.benchmark("performance")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(8000),
        runtime=grow(60),
    params:
        spec=run_identity,
        settings=attack_settings,
    script:
        "../scripts/performance.py"


rule attributions:
    input:
        data=data_input,
        model=rules.train.output.model,
    output:
        paths.IG,
    log:
        paths.log("attributions"),
    benchmark:
        paths.benchmark("attributions")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(8000),
        runtime=grow(60),
    params:
        spec=run_identity,
        settings=attribution_settings,
    script:
        "../scripts/attributions.py"


rule decision_surface:
    input:
        data=data_input,
        model=rules.train.output.model,
    output:
        paths.DECISION_SURFACE,
    log:
        paths.log("decision_surface"),
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(2000),
        runtime=grow(15),
    script:
        "../scripts/decision_surface.py"


rule ig_maps:
    input:
        data=data_input,
        model=rules.train.output.model,
    output:
        paths.IG_MAPS,
    log:
        paths.log("ig_maps"),
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(4000),
        runtime=grow(30),
    params:
        seed=lambda wc: config["evaluation"]["seed"],
    script:
        "../scripts/ig_maps.py"


rule examples:
    input:
        data=data_input,
        model=rules.train.output.model,
        peers=lambda wc: wf.example_peers(config, wc),
    output:
        paths.EXAMPLES,
    log:
        paths.log("examples", f"{paths.RUN}/{{kind}}"),
    conda:
        "../../envs/cftrain.yaml"
    resources:
        mem_mb=grow(4000),
        runtime=grow(60),
    params:
        spec=run_identity,
    script:
        "../scripts/examples.py"


# Generative capacity (issue 15): class-conditional SGLD samples of the model's energy, scored
# by IP*'s MMD against the test data (cftrain.evaluation.generative).
rule generative:
    input:
        data=rules.prepare_data.output[0],
        model=rules.train.output.model,
    output:
        table=paths.GENERATIVE,
        samples=paths.GENERATIVE_SAMPLES,
    log:
        paths.log("generative"),
    benchmark:
        paths.benchmark("generative")
    conda:
        "../../envs/cftrain.yaml"
    threads: 1
    resources:
        mem_mb=grow(4000),
        runtime=grow(60),
    params:
        spec=run_identity,
        settings=generative_settings,
    script:
        "../scripts/generative.py"
