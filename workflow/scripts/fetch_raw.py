from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.data import fetch_raw_step

with job_logging(snakemake.log[0]):
    fetch_raw_step(snakemake.wildcards.raw_file, snakemake.config, snakemake.output[0])
