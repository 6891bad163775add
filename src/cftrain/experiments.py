"""Experiments that repeat other experiments over seeds, and where a run's data comes from
(issue 16; method.md §2 "one model per objective and dataset", §10.8).

An experiment with `repeats: [main, mutability]` trains nothing under its own name: it stands for
one *replicate experiment* per repeated experiment, named `<name>_<repeated>` (e.g.
`replication_main`), a copy of the repeated experiment (datasets, objectives, protection, training
and evaluation overrides) run at the entry's own `seeds` (training seeds) and, for the synthetic
datasets, its `data_seeds` (data-generation seeds). `seeds[i]` is paired with `data_seeds[i]`:
replicate i draws both the data and the model afresh, so the spread over replicates holds both
sources of variation (N replicates, not N × N). A real dataset is the same file in every replicate
(its split is fixed by `data.seed`), so only the training seed varies there.

A replicate whose data seed is the config's `data.seed` reads the ordinary data file
`results/data/<dataset>.h5`; any other data seed reads `results/data/dataseed<k>/<dataset>.h5`
(`cftrain.paths.DATA_SEEDED`). Every other experiment keeps its paths and outputs.

A replicate run at a training seed the repeated experiment itself trains at, on the same data
(the config's `data.seed`), is that experiment's run: same settings, seeds and data give the same
bytes (tested). It is not trained again (`shared_with`); its results are the repeated experiment's,
collected under the replicate's name (`cftrain.workflow.collected_sources`). With the default
`seeds: [2025, …]`, `data_seeds: [42, …]` the first replicate is the single-seed run.
"""

from __future__ import annotations

import copy

from cftrain import paths

#: Keys of a repeating entry (config schema: experiments.<name>).
REPEAT_KEYS = ("repeats", "seeds", "data_seeds", "datasets")


def replicate_name(name: str, repeated: str) -> str:
    """`replication`, `main` → `replication_main` (a path component: letters, digits, `_`)."""
    return f"{name}_{repeated}"


def expand_experiments(experiments: dict) -> dict:
    """The experiments that train models: every plain entry as it is, and in place of each entry
    with `repeats` its replicate experiments (module docstring), in config order."""
    out: dict = {}
    for name, exp in experiments.items():
        if "repeats" not in exp:
            out[name] = exp
            continue
        for repeated in exp["repeats"]:
            if repeated not in experiments or "repeats" in experiments[repeated]:
                raise ValueError(
                    f"experiment {name!r} repeats {repeated!r}, which is not a plain experiment "
                    f"of the config (have: {sorted(experiments)})"
                )
            copy_ = copy.deepcopy(experiments[repeated])
            if "datasets" in exp:  # a subset of the repeated experiment's datasets
                copy_["datasets"] = [d for d in copy_["datasets"] if d in exp["datasets"]]
            copy_.update(seeds=list(exp["seeds"]), replicates=repeated, repeated_by=name)
            if "data_seeds" in exp:
                copy_["data_seeds"] = list(exp["data_seeds"])
            if copy_["datasets"]:
                out[replicate_name(name, repeated)] = copy_
    return out


def is_replicate(exp: dict) -> bool:
    """Whether an (expanded) experiment entry is a replicate of another experiment."""
    return "replicates" in exp


def experiment_seeds(config: dict, exp: dict) -> list[int]:
    """Training seeds of an expanded experiment entry: its own, else the config's `seeds`."""
    return [int(s) for s in exp.get("seeds", config["seeds"])]


def data_seed(config: dict, exp: dict, dataset: str, seed: int | str) -> int:
    """Data-generation seed of one run: `data_seeds[i]` for training seed `seeds[i]` of a
    replicate on a synthetic dataset, else `data.seed`."""
    from cftrain.datasets.registry import SYNTHETIC

    if dataset in SYNTHETIC and "data_seeds" in exp:
        seeds = experiment_seeds(config, exp)
        if len(exp["data_seeds"]) != len(seeds):
            raise ValueError(
                f"{len(exp['data_seeds'])} data_seeds for {len(seeds)} seeds: they are paired"
            )
        return int(exp["data_seeds"][seeds.index(int(seed))])
    return int(config["data"]["seed"])


def shared_with(config: dict, exp: dict, dataset: str, seed: int | str) -> str | None:
    """The repeated experiment whose own run this replicate run is (module docstring), else None:
    the replicate's training seed is one the repeated experiment trains at, on the same data."""
    if not is_replicate(exp):
        return None
    repeated = config["experiments"][exp["replicates"]]
    if int(seed) not in experiment_seeds(config, repeated) or dataset not in repeated["datasets"]:
        return None
    if data_seed(config, exp, dataset, seed) != int(config["data"]["seed"]):
        return None
    return exp["replicates"]


def data_path(config: dict, exp: dict, dataset: str, seed: int | str) -> str:
    """The prepared data file one run reads (module docstring)."""
    k = data_seed(config, exp, dataset, seed)
    if k == int(config["data"]["seed"]):
        return paths.DATA.format(dataset=dataset)
    return paths.DATA_SEEDED.format(dataset=dataset, data_seed=k)


def repeat_problems(config: dict, name: str, exp: dict) -> list[str]:
    """An entry repeating experiments over seeds (cftrain.experiments): only its own keys, plain
    experiments to repeat, as many data seeds as seeds."""
    problems = [
        f"config key 'experiments.{name}.{key}': an entry with 'repeats' takes only "
        f"{', '.join(REPEAT_KEYS)}"
        for key in exp
        if key not in REPEAT_KEYS
    ]
    plain = [
        n
        for n, e in (config.get("experiments") or {}).items()
        if not (isinstance(e, dict) and "repeats" in e)
    ]
    for i, repeated in enumerate(exp.get("repeats") or []):
        if repeated not in plain:
            problems.append(
                f"config key 'experiments.{name}.repeats[{i}]': {repeated!r} is not an experiment "
                f"without 'repeats' (have: {', '.join(plain)})"
            )
    seeds, data_seeds = exp.get("seeds") or [], exp.get("data_seeds")
    if isinstance(data_seeds, list) and len(data_seeds) != len(seeds):
        problems.append(
            f"config key 'experiments.{name}.data_seeds': {len(data_seeds)} values for "
            f"{len(seeds)} seeds (paired by position)"
        )
    return problems
