from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.train import train_vae_step

with job_logging(snakemake.log[0], snakemake.threads):
    train_vae_step(snakemake.input.data, snakemake.output[0], snakemake.params.vae)
