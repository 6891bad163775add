from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.train import train_step

with job_logging(snakemake.log[0], snakemake.threads):
    train_step(
        snakemake.params.spec,
        data=snakemake.input.data,
        model_out=snakemake.output.model,
        log_out=snakemake.output.history,
        config_out=snakemake.output.config,
        checkpoint=snakemake.params.checkpoint,
        vae=snakemake.input.vae or None,
    )
