"""Figure `replication` (issue 16): per dataset, the CT-vs-BL % reduction of each replicate seed
as a point, their mean with the 95 % t-interval over seeds, and the single-seed value of table
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
    fig, axes = plt.subplots(len(metrics), 1, figsize=(1.2 + 1.1 * len(datasets), 2.6 * len(metrics)),
                             sharex=True, squeeze=False)  # fmt: skip
    x = np.arange(len(datasets))
    jitter = np.random.default_rng(0)  # fixed: the figure is the same on every render
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        for i, dataset in enumerate(datasets):
            values = seeds[(seeds["metric"] == metric) & (seeds["dataset"] == dataset)]["reduction"]
            dx = jitter.uniform(-0.12, 0.12, len(values))
            ax.scatter(i + dx, values, s=18, color="tab:blue", alpha=0.7,
                       label="per seed" if i == 0 else None)  # fmt: skip
            row = summary[(summary["metric"] == metric) & (summary["dataset"] == dataset)]
            if len(row):
                r = row.iloc[0]
                err = np.array([[r["mean"] - r["lower"]], [r["upper"] - r["mean"]]])
                ax.errorbar(i + 0.3, r["mean"], yerr=None if np.isnan(err).any() else err, fmt="o",
                            color="black", capsize=3, label="mean, 95% t-interval" if i == 0 else None)  # fmt: skip
                ax.scatter(i + 0.3, r["single_seed"], marker="x", color="tab:red", zorder=3,
                           label="single seed (table main)" if i == 0 else None)  # fmt: skip
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel(f"% reduction in\n{METRIC_LABELS[metric]} (CT vs BL)")
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(x, [dataset_label(d) for d in datasets], rotation=30, ha="right")
    axes[0, 0].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    n = int(seeds.groupby(["metric", "dataset"]).size().max())
    fig.suptitle(f"CT vs BL over {n} replicate seeds (BL and CT of the same seed paired)")
    fig.tight_layout()
    save(fig, outputs)
