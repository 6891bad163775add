# Config access and target lists only; the logic lives in cftrain.config / cftrain.workflow.
import re

import cftrain.config as cfg
import cftrain.datasets.sources as sources
import cftrain.paths as paths
import cftrain.workflow as wf
import cftrain.evaluation.examples as ex
from cftrain.datasets.raw import RAW_FILES
from cftrain.resources import MAX_GPU_RUNTIME_MIN, device_resources, grow

raw_cache = sources.raw_data_sources(config)["cache"].rstrip("/")


wildcard_constraints:
    experiment="|".join(cfg.experiments(config)),
    dataset="|".join(config["datasets"]),
    objective=wf.objective_pattern(),
    seed=r"\d+",
    data_seed=r"\d+",
    collected="|".join(wf.COLLECTED),
    table="|".join(wf.TABLES),
    kind="|".join(ex.KINDS),
    raw_file="|".join(re.escape(f) for f in RAW_FILES),


def all_targets():
    return wf.all_targets(config)


# Each rule's params hold only what its step reads (cftrain.config), so a changed setting re-runs
# only the jobs that read it.
def run_spec(wc):
    return cfg.run_spec_dict(config, wc.experiment, wc.dataset, wc.objective, wc.seed)


def run_identity(wc):
    return cfg.run_identity(config, wc.experiment, wc.dataset, wc.objective, wc.seed)


def search_settings(wc):
    return cfg.search_settings(config, wc.experiment, wc.dataset)


def scoring_settings(wc):
    return cfg.scoring_settings(config, wc.experiment, wc.dataset)


def attack_settings(wc):
    return cfg.attack_settings(config, wc.experiment, wc.dataset)


def attribution_settings(wc):
    return cfg.attribution_settings(config, wc.experiment, wc.dataset)


def data_input(wc):
    return wf.data_file(config, wc.experiment, wc.dataset, wc.seed)


def generative_settings(wc):
    return cfg.generative_settings(config, wc.experiment, wc.dataset)


def vae_input(wc):
    if wf.needs_vae(config, wc.experiment, wc.dataset, wc.objective):
        return paths.VAE.format(dataset=wc.dataset)
    return []


def evaluation_vae_input(wc):
    if wf.evaluation_needs_vae(config, wc.experiment, wc.dataset):
        return paths.VAE.format(dataset=wc.dataset)
    return []
