def first_seed():
    return config["seeds"][0]


rule figure_moons_ce_examples:
    input:
        data="results/data/moons.h5",
        surfaces=expand(
            wf.EVAL_DIR + "/decision_surface.h5",
            experiment="main",
            dataset="moons",
            objective=["vanilla", "full"],
            seed=first_seed(),
        ),
        counterfactuals=expand(
            wf.CF_DIR + "/{tag}.h5",
            experiment="main",
            dataset="moons",
            objective=["vanilla", "full"],
            seed=first_seed(),
            tag=wf.energy_tags(config)[-1],
        ),
    output:
        png=report(
            "results/figures/moons_ce_examples.png",
            caption="../report/moons_ce_examples.rst",
            category="Figures",
        ),
        pdf="results/figures/moons_ce_examples.pdf",
    log:
        "results/logs/figures/moons_ce_examples.log",
    localrule: True
    conda:
        "../../envs/cftrain.yaml"
    script:
        "../scripts/figure_moons_ce_examples.py"
