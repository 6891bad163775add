"""Resolve the workflow config into one run's settings (method.md §2, §5, §6.1, §10).

The YAML config (config/config.yaml, schema workflow/schemas/config.schema.yaml) holds the paper
defaults, per-dataset values and experiments. Every job asks this module for its settings, so the
rules stay free of logic. An objective wildcard may carry the training generator:
`full-generic` = CT trained with the Generic generator (the `generators` experiment); its parameters
are those of `training.generator` when that names the same generator, else the generator's defaults.
A generator is a config object `{name, **params}` (training.generator, evaluation.generator); a
missing parameter takes the generator class's default (cftrain.generators).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

from cftrain.baselines import resolve_objective_params
from cftrain.categorical import EVALUATION_DEFAULT, TRAINING_DEFAULT, normalise_mode
from cftrain.experiments import expand_experiments, experiment_seeds, shared_with
from cftrain.generators import GENERATORS, resolve_params, split_spec
from cftrain.objective import OBJECTIVES
from cftrain.search import STEP_SIZE
from cftrain.training import TrainConfig


def load_config(*paths: str | Path) -> dict:
    """Read YAML files with safe YAML, later files updating earlier ones (nested merge)."""
    merged: dict = {}
    for path in paths:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: top level must be a mapping, got {type(data).__name__}")
        merged = deep_merge(merged, data)
    return merged


def deep_merge(base: dict, update: dict) -> dict:
    """A copy of `base` with `update` merged in recursively (mappings merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if _replaces_generator(key, out.get(key), value):
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _replaces_generator(key: str, old, new) -> bool:
    """A `generator:` mapping naming another generator replaces the old one (its parameters would
    not fit); one naming the same generator, or none, merges like any mapping."""
    return (
        key == "generator"
        and isinstance(old, dict)
        and isinstance(new, dict)
        and new.get("name", old.get("name")) != old.get("name")
    )


def parse_objective(objective: str) -> tuple[str, str | None]:
    """`full-generic` → ("full", "generic"); `vanilla` → ("vanilla", None)."""
    base, _, generator = objective.partition("-")
    if base not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {base!r} in {objective!r}: use one of {sorted(OBJECTIVES)}"
        )
    if generator and generator not in GENERATORS:
        raise ValueError(
            f"unknown generator {generator!r} in {objective!r}: use one of {tuple(GENERATORS)}"
        )
    return base, generator or None


@dataclass
class RunSpec:
    """Everything one training run needs."""

    experiment: str
    dataset: str
    objective: str
    seed: int
    train: TrainConfig
    model: dict
    protect: bool
    device: str
    mutability: str | None = None  # an experiment's code for every feature (e.g. increase)


def experiments(config: dict) -> dict:
    """The experiments that train models, replicate experiments expanded (cftrain.experiments)."""
    return expand_experiments(config["experiments"])


def experiment_section(config: dict, experiment: str) -> dict:
    try:
        return experiments(config)[experiment]
    except KeyError:
        raise ValueError(f"experiment {experiment!r} is not in config 'experiments'") from None


def dataset_section(config: dict, dataset: str) -> dict:
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(f"dataset {dataset!r} is not in config 'datasets'") from None


def _layered(config: dict, experiment: str, dataset: str) -> tuple[dict, dict]:
    """(training, model) sections after experiment- and dataset-level overrides."""
    exp = experiment_section(config, experiment)
    ds = dataset_section(config, dataset)
    training = deep_merge(
        config["training"],
        {k: ds[k] for k in ("batch_size", "n_ce", "tau", "lambda_reg") if k in ds},
    )
    training = deep_merge(training, exp.get("training", {}))
    training = deep_merge(training, exp.get("dataset_training", {}).get(dataset, {}))
    model = deep_merge(config["model"], ds.get("model", {}))
    model = deep_merge(model, exp.get("model", {}))
    return training, model


def run_spec(config: dict, experiment: str, dataset: str, objective: str, seed: int) -> RunSpec:
    """The resolved settings of one training run."""
    base, suffix = parse_objective(objective)
    training, model = _layered(config, experiment, dataset)
    gen, gen_params = training_generator(training["generator"], suffix)
    train = TrainConfig(
        objective=base,
        epochs=int(training["epochs"]),
        lr=float(training["lr"]),
        batch_size=int(training["batch_size"]),
        n_ce=int(training["n_ce"]),
        burnin=float(training["burnin"]),
        lambda_clf=float(training["lambda_clf"]),
        lambda_div=float(training["lambda_div"]),
        lambda_reg=float(training["lambda_reg"]),
        lambda_adv=float(training["lambda_adv"]),
        generator=gen,
        generator_params=gen_params,
        step_size=float(training.get("step_size", STEP_SIZE)),
        categorical=normalise_mode(training.get("categorical", TRAINING_DEFAULT)),
        max_iter=int(training["max_iter"]),
        tau=float(training["tau"]),
        epsilon=float(training["epsilon"]),
        seed=int(seed),
        device=str(config.get("device", "cpu")),
        max_skipped_share=float(training["max_skipped_share"]),
        objective_params=resolve_objective_params(
            base, training.get("objective_params", {}).get(base)
        ),
    )
    exp = experiment_section(config, experiment)
    protect = bool(exp.get("protect", False))
    return RunSpec(experiment, dataset, objective, int(seed), train, model, protect, train.device,
                   exp.get("mutability"))  # fmt: skip


def training_generator(spec: dict | str, suffix: str | None = None) -> tuple[str, dict]:
    """(name, parameters) of the training generator: `training.generator`, or the objective
    suffix's generator — with the parameters of `training.generator` when it names the same
    generator, else with its class defaults (module docstring)."""
    if suffix and suffix != split_spec(spec)[0]:
        spec = {"name": suffix}
    return resolve_params(spec)


def evaluation_generator_spec(ev: dict) -> dict:
    """`evaluation.generator` with every parameter resolved (class defaults filled in)."""
    name, params = resolve_params(ev["generator"])
    return {"name": name, **params}


def evaluation_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Test-time protocol settings (method.md §6.1) with experiment/dataset overrides."""
    ev = deep_merge(
        config["evaluation"], experiment_section(config, experiment).get("evaluation", {})
    )
    ds = dataset_section(config, dataset)
    if "n_individuals" in ds:
        ev["n_individuals"] = ds["n_individuals"]
    ev.setdefault("step_size", STEP_SIZE)  # one default for training and test time (§10.15)
    ev["generator"] = evaluation_generator_spec(ev)
    ev["categorical"] = normalise_mode(ev.get("categorical", EVALUATION_DEFAULT))  # §10.17
    return ev


def _floats(values) -> list[float]:
    return [float(v) for v in values]


#: What each evaluation step reads (method.md §6), with its type. A rule's params hold exactly
#: these keys, so changing a setting re-runs only the steps that read it.
STAGE_SETTINGS: dict[str, dict] = {
    "search": {"n_individuals": int, "runs": int, "lambda_energy": _floats, "generator": dict,
               "step_size": float, "max_iter": int, "tau": float, "categorical": str, "seed": int},
    "scoring": {"ip_draws": int, "mmd_samples": int, "mmd_length_scale": float, "seed": int},
    "attack": {"robustness": bool, "eps_max": float, "eps_count": int, "pgd_steps": int,
               "pgd_alpha": float, "seed": int},
    "attribution": {"ig_rounds": int, "ig_samples": int, "ig_steps": int, "seed": int},
    "generative": {"gen_samples": int, "gen_sgld_steps": int, "gen_sgld_step": float, "gen_sgld_noise": float,
                   "mmd_samples": int, "mmd_length_scale": float, "seed": int},
}  # fmt: skip


def stage_settings(config: dict, stage: str, experiment: str, dataset: str) -> dict:
    """The resolved evaluation settings one stage reads (a key of STAGE_SETTINGS), typed."""
    ev = evaluation_settings(config, experiment, dataset)
    return {key: kind(ev[key]) for key, kind in STAGE_SETTINGS[stage].items()}


def search_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Test-time counterfactual search (method.md §6.1)."""
    return stage_settings(config, "search", experiment, dataset)


def scoring_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Counterfactual metrics (method.md §6.2: IP, IP*)."""
    return stage_settings(config, "scoring", experiment, dataset)


def attack_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Clean and FGSM/PGD robust performance (method.md §6.2 "Predictive performance"). Without
    `robustness` only the clean rows are computed and no attack setting is read, so none is given."""
    settings = stage_settings(config, "attack", experiment, dataset)
    return settings if settings["robustness"] else {"robustness": False}


def attribution_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Integrated gradients on the protected features (method.md §6.2)."""
    return stage_settings(config, "attribution", experiment, dataset)


def generative_settings(config: dict, experiment: str, dataset: str) -> dict:
    """Generative capacity: class-conditional SGLD samples scored with IP*'s MMD (issue 15)."""
    return stage_settings(config, "generative", experiment, dataset)


def run_identity(
    config: dict, experiment: str, dataset: str, objective: str, seed: int | str
) -> dict:
    """Which run a job belongs to, for steps that only tag rows, seed draws or pick constraints."""
    parse_objective(objective)
    exp = experiment_section(config, experiment)
    identity = {
        "experiment": experiment,
        "dataset": dataset,
        "objective": objective,
        "seed": int(seed),
        "protect": bool(exp.get("protect", False)),
        "device": str(config.get("device", "cpu")),
    }
    if exp.get("mutability"):  # only when set: other runs keep their params (no re-runs)
        identity["mutability"] = str(exp["mutability"])
    return identity


def targets(config: dict, shared: bool = False) -> list[tuple[str, str, str, int]]:
    """Every (experiment, dataset, objective, seed) the config trains, in a stable order. A
    replicate run that is its repeated experiment's own run (`cftrain.experiments.shared_with`) is
    trained once, under the repeated experiment: listed only with `shared=True`."""
    out = []
    for name, exp in experiments(config).items():
        for dataset in exp["datasets"]:
            for objective in exp["objectives"]:
                for seed in experiment_seeds(config, exp):
                    if shared or shared_with(config, exp, dataset, seed) is None:
                        out.append((name, dataset, objective, int(seed)))
    return out


def run_spec_dict(
    config: dict, experiment: str, dataset: str, objective: str, seed: int | str
) -> dict:
    """`run_spec` as plain data (Snakemake params, written beside every model)."""
    from dataclasses import asdict

    out = asdict(run_spec(config, experiment, dataset, objective, int(seed)))
    if out["mutability"] is None:  # only when set: other models' config.yaml stay as they were
        del out["mutability"]
    if not out["train"]["objective_params"]:
        del out["train"]["objective_params"]  # objectives without parameters: specs as before
    return out


def energy_tag(value: float) -> str:
    """File tag of a test-time energy weight: 0.1 → 'egy0.1'."""
    return f"egy{float(value):g}"
