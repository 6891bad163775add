from cftrain.pipeline import counterfactuals_step, job_logging

with job_logging(snakemake.log[0], snakemake.threads):
    counterfactuals_step(
        snakemake.params.spec,
        snakemake.params.settings,
        data=snakemake.input.data,
        model_path=snakemake.input.model,
        outputs=list(snakemake.output),
        vae=snakemake.input.vae or None,
    )
