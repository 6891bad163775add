"""Target lists and figure inputs for the Snakemake rules (kept here, tested, not in .smk files).

A figure or table is part of the default target when the config has the experiment, datasets and
objectives it is drawn from, so the quick config produces every artifact with less data.
"""

from __future__ import annotations

import re

from cftrain import paths
from cftrain.config import (
    energy_tag,
    evaluation_settings,
    experiment_section,
    experiments,
    parse_objective,
    run_spec,
    targets,
)
from cftrain.datasets.registry import REAL
from cftrain.experiments import data_path, is_replicate, shared_with
from cftrain.generators import GENERATORS
from cftrain.objective import OBJECTIVES
from cftrain.paths import run_file

# The figure registry: name → (experiment, datasets (None: all of the experiment's), objectives,
# per-model inputs, renderer "module:function" with signature (inputs, outputs)); "real_only": drawn
# from the experiment's real-world datasets only (Fig. 4, method.md §8). A figure is a default
# target when the config has what it is drawn from; figures.smk makes one rule per entry.
FIGURES: dict[str, dict] = {
    "poc": {"experiment": "poc", "datasets": ["lin_sep"], "objectives": ["vanilla", "full"],
            "inputs": ["surface", "examples/poc_free", "examples/poc_protected"],
        "renderer": "cftrain.plots.poc:poc"},
    "mnist_ce": {"experiment": "mutability", "datasets": ["mnist"], "objectives": ["vanilla", "full"],
                 "inputs": ["examples/digit"],
        "renderer": "cftrain.plots.mnist:mnist_ce"},
    "mnist_ig": {"experiment": "mutability", "datasets": ["mnist"], "objectives": ["vanilla", "full"],
                 "inputs": ["ig_maps"],
        "renderer": "cftrain.plots.mnist:mnist_ig"},
    "robustness": {"experiment": "ablation", "datasets": None, "real_only": True,
                   "objectives": ["vanilla", "adversarial", "energy", "full"], "inputs": ["table/performance"],
        "renderer": "cftrain.plots.performance:robustness"},
    "ablation": {"experiment": "ablation", "datasets": None,
                 "objectives": ["vanilla", "adversarial", "energy", "full"], "inputs": ["table/counterfactual_metrics"],
        "renderer": "cftrain.plots.performance:ablation"},
    "mnist_grid_vanilla": {"experiment": "main", "datasets": ["mnist"], "objectives": ["vanilla"],
                           "inputs": ["examples/grid"],
        "renderer": "cftrain.plots.mnist:mnist_grid_vanilla"},
    "mnist_grid_ct": {"experiment": "main", "datasets": ["mnist"], "objectives": ["full"], "inputs": ["examples/grid"],
        "renderer": "cftrain.plots.mnist:mnist_grid_ct"},
    "moons_ce_examples": {"experiment": "main", "datasets": ["moons"], "objectives": ["vanilla", "full"],
                          "inputs": ["surface", "cf_last"],
        "renderer": "cftrain.plots.moons:moons_ce_examples"},
    "moons_plausibility": {"experiment": "generators", "datasets": ["moons"], "objectives": None,
                           "inputs": ["table/counterfactual_metrics"],
        "renderer": "cftrain.plots.generators:moons_plausibility"},
    "moons_val_accuracy": {"experiment": "generators", "datasets": ["moons"], "objectives": None,
                           "inputs": ["table/training_logs"],
        "renderer": "cftrain.plots.generators:moons_val_accuracy"},
    "mnist_grids_generators": {"experiment": "generators", "datasets": ["mnist"],
                               "objectives": ["full-generic", "full-ecco", "full-revise"], "inputs": ["examples/grid"],
        "renderer": "cftrain.plots.generators:mnist_grids_generators"},
    # issue 16. "also": further experiments drawn beside the first (each where the config has it).
    "mnist_monotone": {"experiment": "monotone_increase", "also": ["monotone_decrease"], "datasets": ["mnist"],
                       "objectives": ["vanilla", "full"], "inputs": ["examples/grid"],
        "renderer": "cftrain.plots.monotone:mnist_monotone"},
    "replication": {"experiment": "replication_main", "datasets": None, "objectives": ["vanilla", "full"],
                    "inputs": ["table/replication_metrics", "table/counterfactual_metrics"],
        "renderer": "cftrain.plots.replication:replication"},
    # Issue 15: CT against PGD-AT and JEM (experiment `baselines`).
    "baselines_robustness": {"experiment": "baselines", "datasets": None,
                             "objectives": ["vanilla", "full", "pgd_at", "jem"], "inputs": ["table/performance"],
        "renderer": "cftrain.plots.baselines:baselines_robustness"},
    "baselines_plausibility": {"experiment": "baselines", "datasets": None,
                               "objectives": ["vanilla", "full", "pgd_at", "jem"],
                               "inputs": ["table/counterfactual_metrics", "table/generative"],
        "renderer": "cftrain.plots.baselines:baselines_plausibility"},
    "baselines_samples": {"experiment": "baselines", "datasets": None, "within": ["moons", "mnist"],
                          "objectives": ["vanilla", "full", "pgd_at", "jem"], "inputs": ["generative_samples"],
        "renderer": "cftrain.plots.baselines:baselines_samples"},
}  # fmt: skip

# The table registry: name → experiment it is built from, the collected table it reads and its
# builder "module:function" with signature (frame, datasets) -> (tidy, display) (cftrain.tables).
TABLES: dict[str, dict] = {
    "main": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:main_table"},
    "validity": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:validity_table"},
    "costs": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:costs_table"},
    "ig": {"experiment": "mutability", "input": "ig_rounds", "builder": "cftrain.tables:ig_table"},
    # issue 16: "input" may list several collected tables (concatenated before building).
    "replication": {"experiment": "replication_main", "input": ["counterfactual_metrics", "replication_metrics"],
                    "builder": "cftrain.tables:replication_table"},
    "baselines": {"experiment": "baselines", "input": ["counterfactual_metrics", "performance", "generative"],
                  "builder": "cftrain.tables:baselines_table"},
}  # fmt: skip
#: Collected tables; the replicate experiments' counterfactual metrics are collected apart
#: (`replication_metrics`), so the other tables hold exactly the other experiments' rows.
COLLECTED = (
    "counterfactual_metrics",
    "performance",
    "ig_rounds",
    "training_logs",
    "replication_metrics",
    "generative",
)


def energy_tags(config: dict) -> list[str]:
    return [energy_tag(v) for v in config["evaluation"]["lambda_energy"]]


def collected_sources(config: dict, name: str) -> list[tuple[str, str | None]]:
    """(file, experiment tag) of every run a collected table holds, in order: the tag is None
    for a run's own file, and the replicate's name for a replicate run that is its repeated
    experiment's own run (`cftrain.experiments.shared_with`), read from that experiment's file."""
    out: list[tuple[str, str | None]] = []
    if name != "replication_metrics":
        return [(f, None) for f in per_model(config, name)]
    for e, d, o, s in targets(config, shared=True):
        exp = experiment_section(config, e)
        if not is_replicate(exp):
            continue
        owner = shared_with(config, exp, d, s)
        out.append((run_file(paths.COUNTERFACTUAL_METRICS, owner or e, d, o, s), owner and e))
    return out


def per_model(config: dict, name: str) -> list[str]:
    """Per-model files of a collected table, for every model the config trains (or those that
    compute it: `ig_rounds` only where the experiment's evaluation asks for IG)."""
    if name == "replication_metrics":
        return list(dict.fromkeys(f for f, _ in collected_sources(config, name)))
    out = []
    for e, d, o, s in targets(config):
        if is_replicate(experiment_section(config, e)):
            continue
        if name == "counterfactual_metrics":
            out.append(run_file(paths.COUNTERFACTUAL_METRICS, e, d, o, s))
        elif name == "performance":
            out.append(run_file(paths.PERFORMANCE, e, d, o, s))
        elif name == "ig_rounds":
            if evaluation_settings(config, e, d)["ig"] and o in ("vanilla", "full"):
                out.append(run_file(paths.IG, e, d, o, s))
        elif name == "training_logs":
            out.append(run_file(paths.TRAINING_LOG, e, d, o, s))
        elif name == "generative":
            if evaluation_settings(config, e, d).get("generative", False):
                out.append(run_file(paths.GENERATIVE, e, d, o, s))
        else:
            raise ValueError(f"unknown collected table {name!r}")
    return out


def data_file(config: dict, experiment: str, dataset: str, seed) -> str:
    """The prepared data file a run reads (cftrain.experiments: replicates may draw other data)."""
    return data_path(config, experiment_section(config, experiment), dataset, seed)


def _scope(config: dict, experiment: str, spec: dict) -> tuple[str, list[str], list[str]] | None:
    exp = experiments(config).get(experiment)
    if not exp:
        return None
    datasets = spec["datasets"] or list(exp["datasets"])
    if spec.get("real_only"):
        datasets = [d for d in datasets if d in REAL]
    if spec.get("within"):  # only the datasets the renderer can draw
        datasets = [d for d in datasets if d in spec["within"]]
    if not datasets:
        return None
    objectives = spec["objectives"] or list(exp["objectives"])
    if not set(datasets) <= set(exp["datasets"]) or not set(objectives) <= set(exp["objectives"]):
        return None
    return experiment, datasets, objectives


def _figure_scopes(config: dict, name: str) -> list[tuple[str, list[str], list[str]]]:
    """(experiment, datasets, objectives) a figure is drawn from: its experiment, then each of its
    `also` experiments the config has; none when the config lacks its first experiment."""
    spec = FIGURES[name]
    first = _scope(config, spec["experiment"], spec)
    if first is None:
        return []
    more = [_scope(config, e, spec) for e in spec.get("also", [])]
    return [first, *(s for s in more if s is not None)]


def _figure_scope(config: dict, name: str) -> tuple[str, list[str], list[str]] | None:
    scopes = _figure_scopes(config, name)
    return scopes[0] if scopes else None


def figure_wanted(config: dict, name: str) -> bool:
    return _figure_scope(config, name) is not None


def figure_inputs(config: dict, name: str) -> list[str]:
    """Files a figure is drawn from (tables and HDF5 only), in a fixed order: per input kind, per
    dataset, per objective."""
    scopes = _figure_scopes(config, name)
    if not scopes:
        raise ValueError(
            f"figure {name!r} needs experiment {FIGURES[name]['experiment']!r} with its datasets/objectives in the config"
        )
    seed = int(config["seeds"][0])
    files: list[str] = []
    for kind in FIGURES[name]["inputs"]:
        if kind.startswith("table/"):
            files.append(paths.TABLE_CSV.format(name=kind.split("/")[1]))
            continue
        for experiment, datasets, objectives in scopes:
            files += _per_model_inputs(config, kind, experiment, datasets, objectives, seed)
    return list(dict.fromkeys(files))


def _per_model_inputs(config, kind, experiment, datasets, objectives, seed) -> list[str]:
    """Per-model files of one figure input kind for one experiment (per dataset, per objective)."""
    files: list[str] = []
    for d in datasets:
        files.append(paths.DATA.format(dataset=d))
        for o in objectives:
            if kind == "surface":
                files.append(run_file(paths.DECISION_SURFACE, experiment, d, o, seed))
            elif kind == "ig_maps":
                files.append(run_file(paths.IG_MAPS, experiment, d, o, seed))
            elif kind == "generative_samples":
                files.append(run_file(paths.GENERATIVE_SAMPLES, experiment, d, o, seed))
            elif kind == "cf_last":
                tag = energy_tags(config)[-1]
                files.append(run_file(paths.COUNTERFACTUALS, experiment, d, o, seed, tag=tag))
            elif kind.startswith("examples/"):
                kind_name = kind.split("/")[1]
                files.append(run_file(paths.EXAMPLES, experiment, d, o, seed, kind=kind_name))
    return files


def table_wanted(config: dict, name: str) -> bool:
    exp = experiments(config).get(TABLES[name]["experiment"])
    if not exp or not {"vanilla", "full"} <= set(exp["objectives"]):
        return False
    if name == "ig":
        return bool(
            evaluation_settings(config, TABLES[name]["experiment"], exp["datasets"][0])["ig"]
        )
    return True


def table_inputs(config: dict, name: str) -> list[str]:
    names = TABLES[name]["input"]
    names = [names] if isinstance(names, str) else names
    return [paths.TABLE_CSV.format(name=n) for n in names]


def example_peers(config: dict, wildcards) -> list[str]:
    """Models whose common correct predictions pick the factuals of an example kind: all models of
    the same experiment/dataset/seed that a figure compares."""
    exp = experiment_section(config, wildcards.experiment)
    return [
        run_file(paths.MODEL, wildcards.experiment, wildcards.dataset, o, wildcards.seed)
        for o in exp["objectives"]
    ]


def all_targets(config: dict) -> list[str]:
    out = [paths.TABLE_CSV.format(name=name) for name in COLLECTED if per_model(config, name)]
    for name in TABLES:
        if table_wanted(config, name):
            out += [paths.TABLE_CSV.format(name=name), paths.TABLE_TEX.format(name=name)]
    for name in FIGURES:
        if figure_wanted(config, name):
            out += [paths.FIGURE_PNG.format(name=name), paths.FIGURE_PDF.format(name=name)]
    return list(dict.fromkeys(out))


def objective_pattern() -> str:
    """Regex of the `{objective}` wildcard: an objective of the registry, optionally suffixed with
    a registered generator (`full-generic`)."""
    objectives = "|".join(map(re.escape, OBJECTIVES))
    generators = "|".join(map(re.escape, GENERATORS))
    return rf"({objectives})(-({generators}))?"


def needs_vae(config: dict, experiment: str, dataset: str, objective: str) -> bool:
    """Whether training this model searches CEs with a generator that needs a VAE."""
    on = OBJECTIVES[parse_objective(objective)[0]]
    if not (on.div or on.reg or on.adv):
        return False  # no CEs are generated
    return GENERATORS[run_spec(config, experiment, dataset, objective, 0).train.generator].needs_vae


def evaluation_needs_vae(config: dict, experiment: str, dataset: str) -> bool:
    """Whether the test-time generator of this experiment needs a VAE."""
    name = evaluation_settings(config, experiment, dataset)["generator"]["name"]
    return GENERATORS[name].needs_vae
