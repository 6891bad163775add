from cftrain.pipeline import attribution_step, job_logging

with job_logging(snakemake.log[0], snakemake.threads):
    attribution_step(
        snakemake.params.spec,
        snakemake.params.settings,
        data=snakemake.input.data,
        model_path=snakemake.input.model,
        output=snakemake.output[0],
    )
