"""Fig. 1 `fig-poc` (method.md §8): linear BL and CT models on linearly separable data, Generic
counterfactuals with all features mutable and with "age" (feature 1) immutable at test time.

Axes follow the paper: x = feature 2 ("Debt"), y = feature 1 ("Age"). Green line = decision
boundary (0.5 contour of the stored class-1 probability), orange/blue = y⁺/y⁻ test points, stars =
counterfactuals with an arrow from their factual.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from cftrain.datasets import read_dataset
from cftrain.plots.common import read_store, save
from cftrain.store import read_surface

AGE, DEBT = 0, 1  # feature indices: y axis, x axis
POSITIVE, NEGATIVE = "tab:orange", "tab:blue"


def _surface(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gx, gy, prob = read_surface(path)
    return gx, gy, prob[..., 1]


def _panel(ax, ds, surface: str, store: str, title: str) -> None:
    gx, gy, prob = _surface(surface)
    # gx holds feature 1 (age), gy feature 2 (debt): swap to put debt on the x axis.
    ax.contourf(gy, gx, prob, levels=[0, 0.5, 1], colors=[NEGATIVE, POSITIVE], alpha=0.12)
    ax.contour(gy, gx, prob, levels=[0.5], colors="green", linewidths=2)
    for label, colour in ((1, POSITIVE), (0, NEGATIVE)):
        pts = ds.X_test[ds.y_test == label]
        ax.scatter(pts[:, DEBT], pts[:, AGE], s=7, color=colour, alpha=0.45, linewidths=0)
    cs = read_store(store)
    for x, xp in zip(cs.factual, cs.counterfactual, strict=True):
        ax.annotate("", xy=(xp[DEBT], xp[AGE]), xytext=(x[DEBT], x[AGE]),
                    arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.1})  # fmt: skip
    ax.scatter(
        cs.factual[:, DEBT],
        cs.factual[:, AGE],
        s=45,
        facecolor="white",
        edgecolor="black",
        zorder=3,
    )
    ax.scatter(cs.counterfactual[:, DEBT], cs.counterfactual[:, AGE], marker="*", s=220, color=POSITIVE,
               edgecolor="black", linewidths=0.8, zorder=4)  # fmt: skip
    ax.set_title(title, fontsize=11)
    ax.set_xlim(gy.min(), gy.max())
    ax.set_ylim(gx.min(), gx.max())


def poc(inputs: list[str], outputs: list[str]) -> None:
    """Inputs (workflow.figure_inputs order): data, surface BL, surface CT, poc_free BL, poc_free CT,
    poc_protected BL, poc_protected CT."""
    if len(inputs) != 7:
        raise ValueError(f"poc needs 7 inputs (data, 2 surfaces, 4 example files), got {inputs}")
    data, surf_bl, surf_ct, free_bl, free_ct, prot_bl, prot_ct = inputs
    ds = read_dataset(data)
    if ds.n_features != 2:
        raise ValueError(f"{data}: poc needs 2-D data, {ds.name} has {ds.n_features} features")
    names = ds.feature_names
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.8), sharex=True, sharey=True)
    panels = [
        (surf_bl, free_bl, "(a) BL, all features mutable"),
        (surf_ct, free_ct, "(b) CT, all features mutable"),
        (surf_bl, prot_bl, "(c) BL, age immutable"),
        (surf_ct, prot_ct, "(d) CT, age immutable"),
    ]
    for ax, (surface, store, title) in zip(axes, panels, strict=True):
        _panel(ax, ds, surface, store, title)
        ax.set_xlabel(f"Debt (feature 2, {names[DEBT]})")
    axes[0].set_ylabel(f"Age (feature 1, {names[AGE]})")
    handles = [
        Line2D([], [], color="green", lw=2, label="decision boundary"),
        Line2D([], [], marker="o", ls="", color=POSITIVE, label="y⁺ (class 1)"),
        Line2D([], [], marker="o", ls="", color=NEGATIVE, label="y⁻ (class 0)"),
        Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="black", label="factual"),
        Line2D([], [], marker="*", ls="", markersize=13, color=POSITIVE, markeredgecolor="black",
               label="counterfactual (Generic)"),
    ]  # fmt: skip
    fig.legend(
        handles=handles, loc="lower center", ncol=5, frameon=False, bbox_to_anchor=(0.5, -0.06)
    )
    fig.suptitle(
        "Linear models on linearly separable data: baseline (BL) vs counterfactual training (CT)"
    )
    fig.tight_layout()
    save(fig, outputs)
