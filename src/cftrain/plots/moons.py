"""Moons counterfactual examples, BL vs CT, over data and decision regions (method.md §8, update slides)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cftrain.datasets import read_dataset  # noqa: E402
from cftrain.io import atomic_path  # noqa: E402
from cftrain.store import read_counterfactuals, read_surface  # noqa: E402


def pick_examples(cs, per_direction: int = 1) -> np.ndarray:
    """Indices of the first valid counterfactual of each (factual class → target) direction in run 0."""
    valid = cs.extra["predicted"] == cs.target
    run0 = cs.extra["run"] == 0
    picks = []
    for t in np.unique(cs.target):
        idx = np.flatnonzero(run0 & valid & (cs.target == t))
        if idx.size == 0:
            idx = np.flatnonzero(run0 & (cs.target == t))
        picks.extend(idx[:per_direction].tolist())
    return np.asarray(picks, dtype=int)


def plot_ce_examples(
    data: str,
    surfaces: list[str],
    counterfactuals: list[str],
    titles: list[str],
    outputs: list[str],
) -> None:
    ds = read_dataset(data)
    fig, axes = plt.subplots(
        1, len(surfaces), figsize=(5 * len(surfaces), 4.5), sharex=True, sharey=True
    )
    for ax, surface_path, cf_path, title in zip(
        np.atleast_1d(axes), surfaces, counterfactuals, titles, strict=True
    ):
        gx, gy, prob = read_surface(surface_path)
        ax.contourf(gx, gy, prob[..., 1], levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
        ax.contour(gx, gy, prob[..., 1], levels=[0.5], colors="green", linewidths=1.5)
        ax.scatter(
            ds.X_test[:, 0],
            ds.X_test[:, 1],
            c=ds.y_test,
            cmap="coolwarm",
            s=6,
            alpha=0.5,
            linewidths=0,
        )
        cs = read_counterfactuals(cf_path)
        for i in pick_examples(cs, per_direction=3):
            x, xp = cs.factual[i], cs.counterfactual[i]
            ax.annotate(
                "", xy=xp, xytext=x, arrowprops={"arrowstyle": "->", "color": "black", "lw": 1}
            )
            ax.scatter(*x, marker="o", s=40, facecolor="white", edgecolor="black", zorder=3)
            ax.scatter(*xp, marker="*", s=160, color="gold", edgecolor="black", zorder=4)
        ax.set_title(f"{title}\nECCo, λ_egy={cs.attrs['lambda_energy']:g}")
        ax.set_xlabel(ds.feature_names[0])
        ax.set_ylabel(ds.feature_names[1])
    fig.tight_layout()
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=out.rsplit(".", 1)[-1], dpi=150)
    plt.close(fig)


def moons_ce_examples(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, BL surface, CT surface, BL store, CT store (workflow.figure_inputs order)."""
    data, surface_bl, surface_ct, cf_bl, cf_ct = inputs
    plot_ce_examples(
        data,
        [surface_bl, surface_ct],
        [cf_bl, cf_ct],
        ["Baseline (vanilla)", "Counterfactual Training"],
        outputs,
    )
