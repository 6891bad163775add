from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.data import prepare_data_step

with job_logging(snakemake.log[0]):
    prepare_data_step(
        snakemake.wildcards.dataset,
        snakemake.params.prepare,
        snakemake.output[0],
        raw=snakemake.input.raw,
    )
