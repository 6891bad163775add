from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.evaluate import generative_step

with job_logging(snakemake.log[0], snakemake.threads):
    generative_step(
        snakemake.params.spec,
        snakemake.params.settings,
        data=snakemake.input.data,
        model_path=snakemake.input.model,
        output=snakemake.output.table,
        samples_out=snakemake.output.samples,
    )
