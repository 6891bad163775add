from cftrain.pipeline import decision_surface_step, job_logging

with job_logging(snakemake.log[0]):
    decision_surface_step(snakemake.input.data, snakemake.input.model, snakemake.output[0])
