from cftrain.pipeline import job_logging
from cftrain.plots import render

with job_logging(snakemake.log[0]):
    render(snakemake.params.name, list(snakemake.input), [snakemake.output.png, snakemake.output.pdf])
