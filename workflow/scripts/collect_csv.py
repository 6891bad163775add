from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.figures import collect_csv

with job_logging(snakemake.log[0]):
    collect_csv(snakemake.params.sources, snakemake.output[0])
