from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.evaluate import ig_maps_step

with job_logging(snakemake.log[0]):
    ig_maps_step(
        snakemake.input.data, snakemake.input.model, snakemake.output[0], snakemake.params.seed
    )
