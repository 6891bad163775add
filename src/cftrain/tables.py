"""The paper's tables from tidy per-run CSVs (method.md §6.2 aggregation, §8 tables).

- `main`: % reduction CT vs BL of IP and IP* (experiment `main`) and of cost with the protected
  feature (experiment `mutability`), mean ± bootstrapped s.e., * where the 99% interval of the
  paired difference excludes 0, plus an Avg. row.
- `validity`: mean validity of BL and CT, unconstrained (`main`) and protected (`mutability`).
- `ig`: median [2.5%, 97.5%] of the standardised IG on protected features, BL vs CT (`mutability`).
- `costs`: mean cost (± s.d. over runs) of valid CEs, BL vs CT, unconstrained and protected.
- `baselines` (issue 15, experiment `baselines`): per dataset and objective (BL, CT, PGD-AT, JEM)
  clean accuracy, PGD robust accuracy at the largest ε, validity, IP, IP* (mean ± s.d. over runs)
  and the generative capacity (MMD² of class-conditional SGLD samples, mean over classes).
Each returns a tidy frame (written as CSV) and a display frame (written as LaTeX).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cftrain.aggregate import add_average_row, format_table, percent_reduction, to_latex
from cftrain.attribution import summarise_rounds
from cftrain.objective import OBJECTIVES

METRIC_LABELS = {"ip": "IP", "ip_star": "IP*", "cost": "Cost (protected)"}


def _order(df: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    rank = {d: i for i, d in enumerate(datasets)}
    return df.sort_values(
        "dataset", key=lambda s: s.map(lambda d: rank.get(d, len(rank)))
    ).reset_index(drop=True)


def main_table(cf: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = []
    main = cf[cf["experiment"] == "main"]
    for metric in ("ip", "ip_star"):
        if main[metric].notna().any():
            parts.append(percent_reduction(main, metric, seed_col="seed"))
    mut = cf[cf["experiment"] == "mutability"]
    if len(mut) and mut["cost"].notna().any():
        parts.append(percent_reduction(mut, "cost", seed_col="seed"))
    tidy = pd.concat(parts, ignore_index=True)
    tidy = pd.concat(
        [add_average_row(t) for _, t in tidy.groupby("metric", sort=False)], ignore_index=True
    )
    tidy = _order(tidy, [*datasets, "Avg."])
    display = format_table(tidy).rename(columns=METRIC_LABELS).reset_index()
    return tidy, display


def _mean_sd(df: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    per_run = df.groupby([*keys, "seed", "run"])[metric].mean().reset_index()
    out = per_run.groupby(keys)[metric].agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": "value", "std": "sd", "count": "n_runs"})


def _objective_table(
    cf: pd.DataFrame, metric: str, datasets: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    sub = cf[
        cf["experiment"].isin(["main", "mutability"]) & cf["objective"].isin(["vanilla", "full"])
    ]
    tidy = _mean_sd(sub, metric, ["experiment", "dataset", "objective"])
    tidy["setting"] = tidy["experiment"].map({"main": "unconstrained", "mutability": "protected"})
    tidy["model"] = tidy["objective"].map({"vanilla": "BL", "full": "CT"})
    tidy = _order(tidy, datasets)
    cell = tidy.assign(
        text=[
            f"{v:.2f} ± {s:.2f}" if np.isfinite(s) else f"{v:.2f}"
            for v, s in zip(tidy["value"], tidy["sd"], strict=True)
        ]
    )
    display = cell.pivot_table(
        index="dataset", columns=["setting", "model"], values="text", aggfunc="first", sort=False
    )
    display.columns = [f"{s} {m}" for s, m in display.columns]
    return tidy, display.reset_index()


def validity_table(cf: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _objective_table(cf, "validity", datasets)


def costs_table(cf: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _objective_table(cf, "cost", datasets)


def ig_table(ig: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for (dataset, objective), group in ig.groupby(["dataset", "objective"]):
        rows.append(
            {
                "dataset": dataset,
                "objective": objective,
                **summarise_rounds(group["value"].to_numpy()),
            }
        )
    tidy = _order(pd.DataFrame(rows), datasets)
    tidy["model"] = tidy["objective"].map({"vanilla": "BL", "full": "CT"})
    tidy["text"] = [
        f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
        for m, lo, hi in zip(tidy["median"], tidy["lower"], tidy["upper"], strict=True)
    ]
    display = tidy.pivot_table(
        index="dataset", columns="model", values="text", aggfunc="first", sort=False
    ).reset_index()
    return tidy.drop(columns="text"), display


BASELINE_METRICS = {"accuracy": "Acc.", "robust_accuracy": "PGD acc.", "validity": "Validity",
                    "ip": "IP", "ip_star": "IP*", "generative_mmd2": "Gen. MMD²"}  # fmt: skip


def baselines_table(frame: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input: the collected counterfactual_metrics, performance and generative tables together
    (rows told apart by their columns). Tidy: dataset, objective, model, metric, value, sd."""
    from cftrain.plots.common import objective_label

    df = frame[frame["experiment"] == "baselines"]
    keys = ["dataset", "objective"]
    parts = []
    cf = df[df["validity"].notna()] if "validity" in df else df[:0]
    for metric in ("validity", "ip", "ip_star"):
        if len(cf):
            parts.append(_mean_sd(cf, metric, keys).assign(metric=metric))
    perf = df[df["attack"].notna()] if "attack" in df else df[:0]
    clean = perf[perf["attack"] == "none"].groupby(keys)["accuracy"].mean()
    pgd = perf[perf["attack"] == "pgd"]
    robust = (
        pgd[pgd["eps"] == pgd.groupby(keys)["eps"].transform("max")]
        .groupby(keys)["accuracy"]
        .mean()
    )
    gen = df[df["mmd2"].notna()].groupby(keys)["mmd2"].mean() if "mmd2" in df else clean[:0]
    for metric, series in (
        ("accuracy", clean),
        ("robust_accuracy", robust),
        ("generative_mmd2", gen),
    ):
        parts.append(series.rename("value").reset_index().assign(metric=metric, sd=np.nan))
    tidy = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if tidy.empty:
        raise ValueError("no rows of experiment 'baselines' in the collected tables")
    tidy["model"] = tidy["objective"].map(objective_label)
    # Datasets in config order, objectives in registry order (BL, CT, ..., PGD-AT, JEM).
    rank = {**{d: i for i, d in enumerate(datasets)}, **{o: i for i, o in enumerate(OBJECTIVES)}}
    tidy = tidy.sort_values(["dataset", "objective"], key=lambda s: s.map(lambda v: rank.get(v, len(rank))),
                            kind="stable").reset_index(drop=True)[["dataset", "objective", "model", "metric", "value", "sd"]]  # fmt: skip
    tidy["text"] = [f"{v:.2f} ± {s:.2f}" if np.isfinite(s) else f"{v:.3f}"
                    for v, s in zip(tidy["value"], tidy["sd"], strict=True)]  # fmt: skip
    display = tidy.pivot_table(index=["dataset", "model"], columns="metric", values="text",
                               aggfunc="first", sort=False)  # fmt: skip
    display = display[[m for m in BASELINE_METRICS if m in display.columns]].rename(
        columns=BASELINE_METRICS
    )
    display = display.reset_index()
    display.insert(0, "row", display.pop("dataset") + " " + display.pop("model"))
    return tidy.drop(columns="text"), display


def write_table(tidy: pd.DataFrame, display: pd.DataFrame, csv_path: str, tex_path: str) -> None:
    from cftrain.io import atomic_path, write_text_atomic

    with atomic_path(csv_path) as tmp:
        tidy.to_csv(tmp, index=False)
    index = display.columns[0]
    write_text_atomic(tex_path, to_latex(display.set_index(index), index_name=index))


def replication_table(cf: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table `replication` (issue 16): CT-vs-BL % reduction over replicate seeds, mean and 95 %
    t-interval next to the single-seed value (built by `cftrain.replication`)."""
    from cftrain.replication import replication_table as build

    return build(cf, datasets)
