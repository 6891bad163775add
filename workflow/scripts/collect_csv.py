from cftrain.pipeline import collect_csv, job_logging

with job_logging(snakemake.log[0]):
    collect_csv(list(snakemake.input), snakemake.output[0])
