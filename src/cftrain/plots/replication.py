"""Figure `replication` (issue 16): per dataset, the CT-vs-BL % reduction of each replicate seed
as a point, their mean (bar) with the 95 % t-interval over seeds, and the single-seed value of table
`main` (cftrain.replication; method.md §6.2)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cftrain.plots.common import DATASET_LABELS, dataset_label, ordered, save
from cftrain.replication import METRIC_LABELS, METRICS, per_seed, single_seed, summarise


def replication(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: results/tables/replication_metrics.csv (replicates), counterfactual_metrics.csv."""
    frame = pd.concat([pd.read_csv(p) for p in inputs], ignore_index=True)
    seeds = per_seed(frame)
    if seeds.empty:
        raise ValueError(f"{inputs[0]}: no replicate rows to draw")
    summary = summarise(seeds, single_seed(frame))
    metrics = [m for m in METRICS if m in set(seeds["metric"])]
    datasets = ordered(seeds["dataset"], DATASET_LABELS)
    width = max(3.5, 1.2 + 0.9 * len(datasets))
    fig, axes = plt.subplots(1, len(metrics), figsize=(width * len(metrics), 4.6), squeeze=False)
    x = np.arange(len(datasets))
    jitter = np.random.default_rng(0)  # fixed: the figure is the same on every render
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, dataset in enumerate(datasets):
            values = seeds[(seeds["metric"] == metric) & (seeds["dataset"] == dataset)]["reduction"]
            dx = jitter.uniform(-0.12, 0.12, len(values))
            ax.scatter(i + dx, values, s=22, color="tab:orange", edgecolor="black", lw=0.4,
                       label="per seed" if i == 0 else None)  # fmt: skip
            row = summary[(summary["metric"] == metric) & (summary["dataset"] == dataset)]
            if len(row):
                r = row.iloc[0]
                err = np.array([[r["mean"] - r["lower"]], [r["upper"] - r["mean"]]])
                ax.bar(i, r["mean"], 0.7, color="tab:blue", alpha=0.45,
                       label="mean over seeds" if i == 0 else None)  # fmt: skip
                ax.errorbar(i + 0.3, r["mean"], yerr=None if np.isnan(err).any() else err, fmt="o",
                            color="black", capsize=3, label="95% t-interval" if i == 0 else None)  # fmt: skip
                ax.scatter(i + 0.3, r["single_seed"], marker="x", color="tab:red", zorder=3,
                           label="single seed (table main)" if i == 0 else None)  # fmt: skip
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(METRIC_LABELS[metric])
        ax.set_ylabel("% reduction CT vs BL (higher = better)")
        ax.grid(axis="y", alpha=0.3)
        ax.set_xticks(x, [dataset_label(d) for d in datasets], rotation=30, ha="right")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=9)
    n = int(seeds.groupby(["metric", "dataset"]).size().max())
    fig.suptitle(f"CT vs BL over {n} replicate seeds (BL and CT of the same seed paired)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save(fig, outputs)
