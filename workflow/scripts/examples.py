from cftrain.pipeline import examples_step, job_logging

with job_logging(snakemake.log[0]):
    examples_step(
        snakemake.wildcards.kind,
        snakemake.params.spec,
        data=snakemake.input.data,
        model_path=snakemake.input.model,
        peers=list(snakemake.input.peers),
        output=snakemake.output[0],
    )
