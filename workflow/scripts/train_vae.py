from cftrain.pipeline import job_logging, train_vae_step

with job_logging(snakemake.log[0], snakemake.threads):
    train_vae_step(snakemake.input.data, snakemake.output[0], snakemake.params.vae)
