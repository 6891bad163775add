"""Figures of the `baselines` experiment (issue 15): CT against PGD adversarial training and JEM.

- `baselines_robustness`: robust accuracy vs ε under FGSM and PGD, every dataset of the experiment
  (the Fig. 4 layout of `cftrain.plots.performance`).
- `baselines_plausibility`: IP, IP* (mean over runs of the valid CEs, method.md §6.2) and the
  generative capacity (MMD² of class-conditional SGLD samples, cftrain.evaluation.generative) per
  dataset, a bar per objective; lower is better in all three.
- `baselines_samples`: the class-conditional SGLD samples — a scatter over the test data for a
  2-D dataset (moons), a digit grid (rows = class) for MNIST; one panel per objective.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cftrain.datasets import read_dataset
from cftrain.evaluation.generative import read_samples
from cftrain.plots.common import (
    DATASET_LABELS,
    OBJECTIVE_COLOURS,
    dataset_label,
    digit_cmap,
    mosaic,
    objective_label,
    ordered,
    read_table,
    save,
)
from cftrain.plots.performance import ATTACKS, draw_robustness

BASELINES = ["vanilla", "full", "pgd_at", "jem"]
PANELS = {"ip": "IP", "ip_star": "IP*", "mmd2": "generative MMD²"}


def baselines_robustness(inputs: list[str], outputs: list[str]) -> None:
    """Input: results/tables/performance.csv, experiment `baselines`."""
    (path,) = inputs
    df = read_table(path, experiment="baselines")
    df = df[df["attack"].isin(ATTACKS)]
    if df.empty:
        raise ValueError(f"{path}: no FGSM/PGD rows for experiment 'baselines' (robustness off?)")
    draw_robustness(df, BASELINES, outputs)


def plausibility_frame(cf: pd.DataFrame, gen: pd.DataFrame) -> pd.DataFrame:
    """Tidy (dataset, objective, metric, value, sd): IP and IP* per run (mean over settings) then
    mean ± s.d. over runs; generative MMD² mean over classes (no runs: s.d. NaN)."""
    parts = []
    for metric in ("ip", "ip_star"):
        per_run = cf.groupby(["dataset", "objective", "seed", "run"])[metric].mean()
        agg = per_run.groupby(["dataset", "objective"]).agg(["mean", "std"]).reset_index()
        parts.append(agg.rename(columns={"mean": "value", "std": "sd"}).assign(metric=metric))
    mmd = gen.groupby(["dataset", "objective"])["mmd2"].mean().rename("value").reset_index()
    parts.append(mmd.assign(metric="mmd2", sd=np.nan))
    return pd.concat(parts, ignore_index=True)


def baselines_plausibility(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: results/tables/counterfactual_metrics.csv and generative.csv, experiment `baselines`."""
    cf_path, gen_path = inputs
    tidy = plausibility_frame(read_table(cf_path, experiment="baselines"),
                              read_table(gen_path, experiment="baselines"))  # fmt: skip
    datasets = ordered(tidy["dataset"], DATASET_LABELS)
    objectives = ordered(tidy["objective"], BASELINES)
    fig, axes = plt.subplots(len(PANELS), len(datasets), figsize=(2.6 * len(datasets) + 1.5, 7.5),
                             squeeze=False)  # fmt: skip
    x = np.arange(len(objectives))
    for r, (metric, label) in enumerate(PANELS.items()):
        for c, dataset in enumerate(datasets):
            ax = axes[r, c]
            rows = tidy[(tidy["metric"] == metric) & (tidy["dataset"] == dataset)]
            rows = rows.set_index("objective").reindex(objectives)
            ax.bar(x, rows["value"], yerr=rows["sd"].fillna(0), capsize=3,
                   color=[OBJECTIVE_COLOURS.get(o, "tab:gray") for o in objectives])  # fmt: skip
            ax.set_xticks(x, [objective_label(o) for o in objectives], rotation=30, fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            if r == 0:
                ax.set_title(dataset_label(dataset))
            if c == 0:
                ax.set_ylabel(f"{label}\n(lower = better)")
    fig.suptitle("Plausibility of CEs (IP, IP*) and generative capacity by training objective")
    fig.tight_layout()
    save(fig, outputs)


def _scatter(ax, ds, s: dict) -> None:
    ax.scatter(ds.X_test[:, 0], ds.X_test[:, 1], c=ds.y_test, cmap="coolwarm", s=4, alpha=0.25)
    sample, label = s["sample"], s["label"]
    finite = np.isfinite(sample).all(axis=1)
    ax.scatter(sample[finite, 0], sample[finite, 1], c=label[finite], cmap="coolwarm", s=9,
               marker="x", linewidths=0.8)  # fmt: skip
    pad = 0.5
    ax.set_xlim(ds.X_test[:, 0].min() - pad, ds.X_test[:, 0].max() + pad)
    ax.set_ylim(ds.X_test[:, 1].min() - pad, ds.X_test[:, 1].max() + pad)


def _digits(ax, s: dict, per_class: int = 10) -> None:
    classes = np.unique(s["label"])
    rows = [s["sample"][s["label"] == k][:per_class] for k in classes]
    images = np.concatenate(rows)
    ax.imshow(mosaic(np.clip(images, -1, 1), len(classes), per_class), cmap=digit_cmap(),
              vmin=-1, vmax=1, interpolation="nearest")  # fmt: skip
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_ylabel("class 0 (top) … 9")


def baselines_samples(inputs: list[str], outputs: list[str]) -> None:
    """Inputs (figure_inputs order): per dataset its data file, then one samples file per objective."""
    groups: list[tuple[str, list[str]]] = []
    for path in inputs:
        if path.endswith("generative_samples.h5"):
            groups[-1][1].append(path)
        else:
            groups.append((path, []))
    ncols = max(len(files) for _, files in groups)
    fig, axes = plt.subplots(
        len(groups), ncols, figsize=(3.2 * ncols, 3.4 * len(groups)), squeeze=False
    )
    for r, (data_path, files) in enumerate(groups):
        ds = read_dataset(data_path)
        for c, path in enumerate(files):
            s = read_samples(path)
            ax = axes[r, c]
            if ds.n_features == 2:
                _scatter(ax, ds, s)
            else:
                _digits(ax, s)
            ax.set_title(
                f"{dataset_label(ds.name)}: {objective_label(s['objective'])}", fontsize=10
            )
        for c in range(len(files), ncols):
            axes[r, c].set_axis_off()
    fig.suptitle("Class-conditional SGLD samples of E(x, y) = −f(x)[y] from the same uniform start")
    fig.tight_layout()
    save(fig, outputs)
