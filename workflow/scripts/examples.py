from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.evaluate import examples_step

with job_logging(snakemake.log[0]):
    examples_step(
        snakemake.wildcards.kind,
        snakemake.params.spec,
        data=snakemake.input.data,
        model_path=snakemake.input.model,
        peers=list(snakemake.input.peers),
        output=snakemake.output[0],
    )
