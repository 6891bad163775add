from cftrain.steps.common import job_logging
from cftrain.steps.evaluate import decision_surface_step

with job_logging(snakemake.log[0]):
    decision_surface_step(snakemake.input.data, snakemake.input.model, snakemake.output[0])
