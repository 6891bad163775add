# Config access and target lists only; the logic lives in cftrain.config / cftrain.workflow.
import re

import cftrain.config as cfg
import cftrain.workflow as wf
import cftrain.evaluation.examples as ex
from cftrain.datasets.raw import RAW_FILES
from cftrain.resources import MAX_GPU_RUNTIME_MIN, device_resources, grow, partition_for

raw_cache = cfg.raw_data_sources(config)["cache"].rstrip("/")


wildcard_constraints:
    experiment="|".join(config["experiments"]),
    dataset="|".join(config["datasets"]),
    objective=wf.objective_pattern(),
    seed=r"\d+",
    collected="|".join(wf.COLLECTED),
    table="|".join(wf.TABLES),
    kind="|".join(ex.KINDS),
    raw_file="|".join(re.escape(f) for f in RAW_FILES),


def all_targets():
    return wf.all_targets(config)


def run_spec(wc):
    return cfg.run_spec_dict(config, wc.experiment, wc.dataset, wc.objective, wc.seed)


def eval_settings(wc):
    return cfg.evaluation_settings(config, wc.experiment, wc.dataset)


def vae_input(wc):
    if wf.needs_vae(config, wc.experiment, wc.dataset, wc.objective):
        return f"results/vae/{wc.dataset}.pt"
    return []


def evaluation_vae_input(wc):
    if wf.evaluation_needs_vae(config, wc.experiment, wc.dataset):
        return f"results/vae/{wc.dataset}.pt"
    return []
