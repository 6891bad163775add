rule figure_moons_ce_examples:
    input:
        data="results/data/moons.h5",
        surfaces=expand(
            "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}/decision_surface.h5",
            experiment="main",
            dataset="moons",
            objective=["vanilla", "full"],
            seed=config["seeds"][0],
        ),
        counterfactuals=expand(
            "results/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}/{tag}.h5",
            experiment="main",
            dataset="moons",
            objective=["vanilla", "full"],
            seed=config["seeds"][0],
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
