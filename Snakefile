# Counterfactual Training (Altmeyer et al., SaTML 2026): the paper's reproduction as a workflow.
# Stages: data -> (vae) -> train -> test-time counterfactuals -> evaluation -> tables and figures.
from snakemake.utils import min_version, validate
from cftrain import forkserver
from cftrain.validation import check_config

min_version("9.0")


configfile: "config/config.yaml"


# Every problem at once, each naming its key path, before any job starts; validate() adds defaults.
check_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/vae.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/counterfactuals.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


# Local runs: one process imports torch and cftrain once and forks every job (cftrain.forkserver);
# cluster jobs run in their own processes. CFTRAIN_FORKSERVER=off switches it off.
onstart:
    forkserver.start_for_run(workflow)


onsuccess:
    forkserver.stop_for_run()


onerror:
    forkserver.stop_for_run()


rule all:
    default_target: True
    input:
        all_targets(),
