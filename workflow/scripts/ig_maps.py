from cftrain.pipeline import ig_maps_step, job_logging

with job_logging(snakemake.log[0]):
    ig_maps_step(snakemake.input.data, snakemake.input.model, snakemake.output[0], snakemake.params.seed)
