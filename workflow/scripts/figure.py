from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.plots import render
from cftrain.steps.common import job_logging

with job_logging(snakemake.log[0]):
    render(
        snakemake.params.name, list(snakemake.input), [snakemake.output.png, snakemake.output.pdf]
    )
