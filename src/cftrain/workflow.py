"""Target lists and figure inputs for the Snakemake rules (kept here, tested, not in .smk files).

A figure or table is part of the default target when the config has the experiment, datasets and
objectives it is drawn from, so the quick config produces every artifact with less data.
"""

from __future__ import annotations

import re

from cftrain.config import (
    energy_tag,
    evaluation_settings,
    experiment_section,
    parse_objective,
    run_spec,
    targets,
)
from cftrain.datasets.registry import REAL
from cftrain.generators import GENERATORS
from cftrain.objective import OBJECTIVES

MODEL = "results/models/{experiment}/{dataset}/{objective}/seed{seed}"
CF = "results/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}"
EVAL = "results/evaluation/{experiment}/{dataset}/{objective}/seed{seed}"
EXAMPLES = "results/examples/{experiment}/{dataset}/{objective}/seed{seed}"

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
}  # fmt: skip

# The table registry: name → experiment it is built from, the collected table it reads and its
# builder "module:function" with signature (frame, datasets) -> (tidy, display) (cftrain.tables).
TABLES: dict[str, dict] = {
    "main": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:main_table"},
    "validity": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:validity_table"},
    "costs": {"experiment": "main", "input": "counterfactual_metrics", "builder": "cftrain.tables:costs_table"},
    "ig": {"experiment": "mutability", "input": "ig_rounds", "builder": "cftrain.tables:ig_table"},
}  # fmt: skip
COLLECTED = ("counterfactual_metrics", "performance", "ig_rounds", "training_logs")


def energy_tags(config: dict) -> list[str]:
    return [energy_tag(v) for v in config["evaluation"]["lambda_energy"]]


def _fmt(pattern: str, experiment: str, dataset: str, objective: str, seed: int) -> str:
    return pattern.format(experiment=experiment, dataset=dataset, objective=objective, seed=seed)


def per_model(config: dict, name: str) -> list[str]:
    """Per-model files of a collected table, for every model the config trains (or those that
    compute it: `ig_rounds` only where the experiment's evaluation asks for IG)."""
    out = []
    for e, d, o, s in targets(config):
        if name == "counterfactual_metrics":
            out.append(_fmt(f"{EVAL}/counterfactual_metrics.csv", e, d, o, s))
        elif name == "performance":
            out.append(_fmt(f"{EVAL}/performance.csv", e, d, o, s))
        elif name == "ig_rounds":
            if evaluation_settings(config, e, d)["ig"] and o in ("vanilla", "full"):
                out.append(_fmt(f"{EVAL}/ig.csv", e, d, o, s))
        elif name == "training_logs":
            out.append(_fmt(f"{MODEL}/training_log.csv", e, d, o, s))
        else:
            raise ValueError(f"unknown collected table {name!r}")
    return out


def _figure_scope(config: dict, name: str) -> tuple[str, list[str], list[str]] | None:
    spec = FIGURES[name]
    exp = config["experiments"].get(spec["experiment"])
    if not exp:
        return None
    datasets = spec["datasets"] or list(exp["datasets"])
    if spec.get("real_only"):
        datasets = [d for d in datasets if d in REAL]
        if not datasets:
            return None
    objectives = spec["objectives"] or list(exp["objectives"])
    if not set(datasets) <= set(exp["datasets"]) or not set(objectives) <= set(exp["objectives"]):
        return None
    return spec["experiment"], datasets, objectives


def figure_wanted(config: dict, name: str) -> bool:
    return _figure_scope(config, name) is not None


def figure_inputs(config: dict, name: str) -> list[str]:
    """Files a figure is drawn from (tables and HDF5 only), in a fixed order: per input kind, per
    dataset, per objective."""
    scope = _figure_scope(config, name)
    if scope is None:
        raise ValueError(
            f"figure {name!r} needs experiment {FIGURES[name]['experiment']!r} with its datasets/objectives in the config"
        )
    experiment, datasets, objectives = scope
    seed = int(config["seeds"][0])
    files: list[str] = []
    for kind in FIGURES[name]["inputs"]:
        if kind.startswith("table/"):
            files.append(f"results/tables/{kind.split('/')[1]}.csv")
            continue
        for d in datasets:
            files.append(f"results/data/{d}.h5")
            for o in objectives:
                if kind == "surface":
                    files.append(_fmt(f"{EVAL}/decision_surface.h5", experiment, d, o, seed))
                elif kind == "ig_maps":
                    files.append(_fmt(f"{EVAL}/ig_maps.h5", experiment, d, o, seed))
                elif kind == "cf_last":
                    files.append(_fmt(f"{CF}/{energy_tags(config)[-1]}.h5", experiment, d, o, seed))
                elif kind.startswith("examples/"):
                    files.append(
                        _fmt(f"{EXAMPLES}/{kind.split('/')[1]}.h5", experiment, d, o, seed)
                    )
    return list(dict.fromkeys(files))


def table_wanted(config: dict, name: str) -> bool:
    exp = config["experiments"].get(TABLES[name]["experiment"])
    if not exp or not {"vanilla", "full"} <= set(exp["objectives"]):
        return False
    if name == "ig":
        return bool(
            evaluation_settings(config, TABLES[name]["experiment"], exp["datasets"][0])["ig"]
        )
    return True


def table_inputs(config: dict, name: str) -> list[str]:
    return [f"results/tables/{TABLES[name]['input']}.csv"]


def example_peers(config: dict, wildcards) -> list[str]:
    """Models whose common correct predictions pick the factuals of an example kind: all models of
    the same experiment/dataset/seed that a figure compares."""
    exp = experiment_section(config, wildcards.experiment)
    return [
        _fmt(f"{MODEL}/model.pt", wildcards.experiment, wildcards.dataset, o, wildcards.seed)
        for o in exp["objectives"]
    ]


def all_targets(config: dict) -> list[str]:
    out = [f"results/tables/{name}.csv" for name in COLLECTED if per_model(config, name)]
    for name in TABLES:
        if table_wanted(config, name):
            out += [f"results/tables/{name}.csv", f"results/tables/{name}.tex"]
    for name in FIGURES:
        if figure_wanted(config, name):
            out += [f"results/figures/{name}.png", f"results/figures/{name}.pdf"]
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
