"""Target lists and paths for the Snakemake rules (kept here, tested, instead of in .smk files)."""

from __future__ import annotations

from cftrain.config import energy_tag, experiment_section, targets

RESULTS = "results"
MODEL_DIR = RESULTS + "/models/{experiment}/{dataset}/{objective}/seed{seed}"
CF_DIR = RESULTS + "/counterfactuals/{experiment}/{dataset}/{objective}/seed{seed}"
EVAL_DIR = RESULTS + "/evaluation/{experiment}/{dataset}/{objective}/seed{seed}"

# Figures and the experiment/datasets they need (file names are part of the interface).
FIGURES = {"moons_ce_examples": ("main", "moons")}


def energy_tags(config: dict) -> list[str]:
    return [energy_tag(v) for v in config["evaluation"]["lambda_energy"]]


def all_models(config: dict) -> list[str]:
    return [
        f"{MODEL_DIR}/model.pt".format(experiment=e, dataset=d, objective=o, seed=s)
        for e, d, o, s in targets(config)
    ]


def all_scores(config: dict) -> list[str]:
    return [f"{EVAL_DIR}/counterfactual_metrics.csv".format(experiment=e, dataset=d, objective=o, seed=s)
            for e, d, o, s in targets(config)]  # fmt: skip


def figure_wanted(config: dict, name: str) -> bool:
    experiment, dataset = FIGURES[name]
    exp = config["experiments"].get(experiment)
    return (
        bool(exp) and dataset in exp["datasets"] and {"vanilla", "full"} <= set(exp["objectives"])
    )


def all_targets(config: dict) -> list[str]:
    out = [f"{RESULTS}/tables/counterfactual_metrics.csv"]
    out += [
        f"{RESULTS}/figures/{name}.{ext}"
        for name in FIGURES
        if figure_wanted(config, name)
        for ext in ("png", "pdf")
    ]
    return out


def needs_vae(config: dict, objective: str) -> bool:
    return objective.endswith("-revise") or (
        objective != "vanilla"
        and "-" not in objective
        and config["training"]["generator"] == "revise"
    )


def experiment_datasets(config: dict, experiment: str) -> list[str]:
    return list(experiment_section(config, experiment)["datasets"])
