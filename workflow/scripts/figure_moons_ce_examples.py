from cftrain.pipeline import job_logging
from cftrain.plots.moons import plot_ce_examples

with job_logging(snakemake.log[0]):
    plot_ce_examples(
        snakemake.input.data,
        surfaces=list(snakemake.input.surfaces),
        counterfactuals=list(snakemake.input.counterfactuals),
        titles=["Baseline (vanilla)", "Counterfactual Training"],
        outputs=[snakemake.output.png, snakemake.output.pdf],
    )
