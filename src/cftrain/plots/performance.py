"""Ablation figures of method.md §8: Fig. 4 `fig-acc` (robust accuracy vs ε under FGSM and PGD,
one column per real-world dataset, lines BL/AR/CD/CT; §6.2 predictive performance) and Fig. 5
`fig-ablations` (% reduction vs BL of IP and IP* for AR/CD/CT, colour = dataset, all nine datasets
as the original's ablation runs; §6.2 "% reduction")."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cftrain.aggregate import percent_reduction
from cftrain.datasets.registry import REAL
from cftrain.plots.common import (
    DATASET_LABELS,
    OBJECTIVE_COLOURS,
    OBJECTIVE_LABELS,
    dataset_label,
    objective_label,
    ordered,
    read_table,
    save,
)

ABLATION = ["vanilla", "adversarial", "energy", "full"]
ATTACKS = {"fgsm": "FGSM", "pgd": "PGD"}
METRICS = {"ip": "IP", "ip_star": "IP*"}


def robustness(inputs: list[str], outputs: list[str]) -> None:
    """Input: results/tables/performance.csv (rows experiment, dataset, objective, seed, attack, eps,
    accuracy, macro_f1), experiment `ablation`. Fig. 4 shows the real-world datasets only (§8), while
    the ablation itself (and the performance table) covers every dataset of the experiment."""
    (path,) = inputs
    df = read_table(path, experiment="ablation")
    df = df[df["attack"].isin(ATTACKS) & df["dataset"].isin(REAL)]
    if df.empty:
        raise ValueError(
            f"{path}: no FGSM/PGD rows of a real-world dataset {list(REAL)} for experiment "
            "'ablation' (robustness not evaluated?)"
        )
    draw_robustness(df, ABLATION, outputs)


def draw_robustness(df: pd.DataFrame, preferred: list[str], outputs: list[str]) -> None:
    """Robust accuracy vs ε: one column per dataset of `df`, one row per attack, a line per
    objective (ordered by `preferred`), ± s.d. over training seeds where there are several."""
    datasets = ordered(df["dataset"], DATASET_LABELS)
    objectives = ordered(df["objective"], preferred)
    attacks = [a for a in ATTACKS if a in set(df["attack"])]
    fig, axes = plt.subplots(len(attacks), len(datasets), figsize=(3.6 * len(datasets) + 1.5, 3.0 * len(attacks)),
                             sharex=True, sharey=True, squeeze=False)  # fmt: skip
    for r, attack in enumerate(attacks):
        for c, dataset in enumerate(datasets):
            ax = axes[r, c]
            sub = df[(df["attack"] == attack) & (df["dataset"] == dataset)]
            for objective in objectives:
                line = (
                    sub[sub["objective"] == objective]
                    .groupby("eps")["accuracy"]
                    .agg(["mean", "std"])
                )
                if line.empty:
                    continue
                colour = OBJECTIVE_COLOURS.get(objective)
                ax.plot(
                    line.index,
                    line["mean"],
                    marker="o",
                    ms=3,
                    color=colour,
                    label=objective_label(objective),
                )
                if line["std"].notna().any():
                    ax.fill_between(line.index, line["mean"] - line["std"], line["mean"] + line["std"],
                                    color=colour, alpha=0.15, linewidth=0)  # fmt: skip
            ax.grid(alpha=0.3)
            if r == 0:
                ax.set_title(dataset_label(dataset))
            if r == len(attacks) - 1:
                ax.set_xlabel("perturbation size ε (ℓ∞)")
            if c == 0:
                ax.set_ylabel(f"{ATTACKS[attack]}\nrobust accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        title="objective",
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
    )
    fig.suptitle("Test accuracy under FGSM (top) and PGD (bottom) attacks")
    fig.tight_layout()
    save(fig, outputs)


def ablation_reductions(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy % reduction vs BL per (dataset, treatment objective, metric) with its s.e."""
    parts = []
    for objective in ordered(df["objective"], ABLATION):
        if objective == "vanilla":
            continue
        for metric in METRICS:
            if metric not in df or not df[metric].notna().any():
                continue
            res = percent_reduction(
                df, metric, baseline="vanilla", treatment=objective, seed_col="seed"
            )
            parts.append(res.assign(objective=objective))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def ablation(inputs: list[str], outputs: list[str]) -> None:
    """Input: results/tables/counterfactual_metrics.csv, experiment `ablation`."""
    (path,) = inputs
    df = read_table(path, experiment="ablation")
    if "vanilla" not in set(df["objective"]) or len(set(df["objective"])) < 2:
        raise ValueError(
            f"{path}: ablation needs the vanilla (BL) objective and at least one other, has {sorted(set(df['objective']))}"
        )
    red = ablation_reductions(df)
    if red.empty:
        raise ValueError(f"{path}: no IP/IP* values to compare for experiment 'ablation'")
    datasets = ordered(red["dataset"], DATASET_LABELS)
    objectives = ordered(red["objective"], ABLATION)
    fig, axes = plt.subplots(len(METRICS), 1, figsize=(2.0 + 1.6 * len(objectives) + 0.3 * len(datasets), 6.5),
                             sharex=True, squeeze=False)  # fmt: skip
    width = 0.8 / len(datasets)
    colours = plt.get_cmap("tab10")
    x = np.arange(len(objectives))
    for ax, (metric, label) in zip(axes[:, 0], METRICS.items(), strict=True):
        sub = red[red["metric"] == metric]
        for i, dataset in enumerate(datasets):
            rows = sub[sub["dataset"] == dataset].set_index("objective").reindex(objectives)
            offset = (i - (len(datasets) - 1) / 2) * width
            ax.bar(x + offset, rows["reduction"], width, yerr=rows["se"], capsize=3, color=colours(i % 10),
                   label=dataset_label(dataset))  # fmt: skip
            significant = rows["significant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            for xi, (val, sig) in enumerate(zip(rows["reduction"], significant, strict=True)):
                if np.isfinite(val) and sig:
                    ax.annotate(
                        "*", (xi + offset, val), ha="center", va="bottom" if val >= 0 else "top"
                    )
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel(f"% reduction in {label}\nvs BL (higher = better)")
        ax.grid(axis="y", alpha=0.3)
        if sub.empty:
            ax.text(
                0.5, 0.5, f"no {label} values", transform=ax.transAxes, ha="center", va="center"
            )
    axes[-1, 0].set_xticks(x, [OBJECTIVE_LABELS.get(o, o) for o in objectives])
    axes[-1, 0].set_xlabel("training objective")
    axes[0, 0].legend(title="dataset", loc="center left", bbox_to_anchor=(1.0, 0.0), frameon=False)
    fig.suptitle(
        "Ablation: implausibility reduction relative to the baseline (± bootstrapped s.e.)"
    )
    fig.tight_layout()
    save(fig, outputs)
