from cftrain.forkserver import delegate

delegate(__real_file__)  # a local run forks this job from its fork server (cftrain.forkserver)

from cftrain.steps.common import job_logging
from cftrain.steps.figures import table_step

with job_logging(snakemake.log[0]):
    table_step(
        snakemake.wildcards.table,
        list(snakemake.input),
        snakemake.params.datasets,
        csv_out=snakemake.output.csv,
        tex_out=snakemake.output.tex,
    )
