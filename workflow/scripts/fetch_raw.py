from cftrain.pipeline import fetch_raw_step, job_logging

with job_logging(snakemake.log[0]):
    fetch_raw_step(snakemake.wildcards.raw_file, snakemake.config, snakemake.output[0])
