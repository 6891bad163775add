"""Figures of the Dec-2024 update slides (method.md §8): CT trained with different counterfactual
generators (Generic, ECCo, REVISE) against the baseline — test-time plausibility on Moons vs the
ECCo energy weight (`moons_plaus.png`), validation accuracy per epoch (`moons_acc_val.png`) and the
MNIST 10×10 counterfactual grids side by side (`poc_model_ct_*.png`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from cftrain.plots.common import (
    OBJECTIVE_COLOURS,
    objective_label,
    ordered,
    read_store,
    read_table,
    save,
)
from cftrain.plots.mnist import draw_grid

GENERATOR_OBJECTIVES = ["vanilla", "full-generic", "full-ecco", "full-revise"]


def _mean_band(ax, frame, x: str, y: str, objective: str, *, marker: str | None = None) -> None:
    """Mean of `y` per `x` (over runs and seeds) with a ±1 s.d. band."""
    line = frame.groupby(x)[y].agg(["mean", "std"])
    if line["mean"].notna().sum() == 0:
        return
    colour = OBJECTIVE_COLOURS.get(objective)
    ax.plot(
        line.index,
        line["mean"],
        marker=marker,
        ms=4,
        color=colour,
        label=objective_label(objective),
    )
    if line["std"].notna().any():
        ax.fill_between(line.index, line["mean"] - line["std"], line["mean"] + line["std"], color=colour,
                        alpha=0.15, linewidth=0)  # fmt: skip


def moons_plausibility(inputs: list[str], outputs: list[str]) -> None:
    """Input: results/tables/counterfactual_metrics.csv, experiment `generators`, dataset moons."""
    (path,) = inputs
    df = read_table(path, experiment="generators", dataset="moons")
    objectives = ordered(df["objective"], GENERATOR_OBJECTIVES)
    fig, (ax_ip, ax_val) = plt.subplots(1, 2, figsize=(11, 4.2))
    for objective in objectives:
        sub = df[df["objective"] == objective]
        _mean_band(ax_ip, sub, "lambda_energy", "ip", objective, marker="o")
        _mean_band(ax_val, sub, "lambda_energy", "validity", objective, marker="o")
    ip = df["ip"].to_numpy(dtype=float)
    ip = ip[np.isfinite(ip) & (ip > 0)]
    if ip.size and ip.max() / ip.min() > 50:
        ax_ip.set_yscale("log")  # a generator whose energy blows up would flatten all other lines
    ax_ip.set_ylabel("IP: mean ℓ1 distance to target class\n(valid CEs; lower = more plausible)")
    ax_ip.set_title("Implausibility of test-time ECCo counterfactuals")
    ax_val.set_ylabel("validity (share of CEs reaching the target)")
    ax_val.set_ylim(-0.02, 1.02)
    ax_val.set_title("Validity")
    for ax in (ax_ip, ax_val):
        ax.set_xscale("log")
        ticks = sorted(df["lambda_energy"].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("test-time ECCo energy weight λ_egy")
        ax.grid(alpha=0.3)
    ax_val.legend(
        title="training objective", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False
    )
    fig.suptitle(
        "Moons: CT trained with different generators vs BL (mean ± s.d. over bootstrap runs)"
    )
    fig.tight_layout()
    save(fig, outputs)


def moons_val_accuracy(inputs: list[str], outputs: list[str]) -> None:
    """Input: results/tables/training_logs.csv (one row per epoch), experiment `generators`, moons."""
    (path,) = inputs
    df = read_table(path, experiment="generators", dataset="moons")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for objective in ordered(df["objective"], GENERATOR_OBJECTIVES):
        _mean_band(ax, df[df["objective"] == objective], "epoch", "val_accuracy", objective,
                   marker="o" if df["epoch"].nunique() <= 20 else None)  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Moons: validation accuracy during training, by training generator")
    ax.grid(alpha=0.3)
    ax.legend(
        title="training objective", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False
    )
    fig.tight_layout()
    save(fig, outputs)


GRID_TITLES = {"full-generic": "CT trained with Generic", "full-ecco": "CT trained with ECCo",
               "full-revise": "CT trained with REVISE"}  # fmt: skip


def mnist_grids_generators(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, examples/grid of full-generic, full-ecco, full-revise (experiment generators)."""
    _, *paths = inputs
    fig, axes = plt.subplots(1, len(paths), figsize=(6.3 * len(paths), 6.8), squeeze=False)
    for ax, path in zip(axes[0], paths, strict=True):
        objective = str(read_store(path).attrs.get("objective", ""))
        draw_grid(ax, path, GRID_TITLES.get(objective, objective_label(objective)))
    fig.suptitle(
        "MNIST counterfactual grids (row = factual class, column = target; factual on the diagonal)",
        fontsize=14,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, outputs)
