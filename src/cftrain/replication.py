"""The CT-vs-BL % reduction over seeds (issue 16; method.md §6.2 "% reduction", §10.8).

The paper trained one model per objective and dataset, so its only uncertainty is the evaluation
bootstrap. The replicate experiments (`cftrain.experiments`) train BL and CT again at N training
seeds (and draw the synthetic datasets again at N data seeds). Per dataset, metric and seed the
reduction is the paper's (`cftrain.aggregate.percent_reduction`, runs paired within the seed): BL
and CT of the *same* seed are compared, never a BL of one seed with a CT of another. Over the N
per-seed reductions v_1..v_N the table reports

    mean  = (1/N) Σ v_i,    sd = sample standard deviation (ddof 1),
    interval = mean ± t_{N−1, 0.975} · sd / √N   (two-sided 95 % Student-t interval of the mean),

next to the single-seed value of table `main` (experiments `main`/`mutability` at `seeds`). The
t-interval treats the N seeds as independent draws of a roughly normal reduction; with N = 5 it is
mean ± 2.776·sd/√5. It is undefined (NaN) for N < 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cftrain.aggregate import percent_reduction

LEVEL = 0.95  # two-sided level of the t-interval over seeds
#: Metric → the experiment whose replicates it is computed from (as table `main`).
METRICS = {"ip": "main", "ip_star": "main", "cost": "mutability"}
METRIC_LABELS = {"ip": "IP", "ip_star": "IP*", "cost": "Cost (protected)"}
SUMMARY_COLUMNS = ["dataset", "metric", "n_seeds", "mean", "sd", "lower", "upper", "single_seed"]


def t_interval(values, level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean, sd, lower, upper) of `values`: mean ± t_{n−1,(1+level)/2}·sd/√n; NaN bounds for n < 2."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean()) if len(v) else float("nan")
    if len(v) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2.0, len(v) - 1)) * sd / np.sqrt(len(v))
    return mean, sd, mean - half, mean + half


def replicates_of(frame: pd.DataFrame, repeated: str) -> pd.DataFrame:
    """Rows of the replicate experiments of `repeated` (`<name>_<repeated>`, cftrain.experiments)."""
    names = frame["experiment"].astype(str)
    return frame[names.str.endswith(f"_{repeated}") & (names != repeated)]


def seed_reductions(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per (dataset, seed): the % reduction of `metric` of CT vs BL of that seed (runs
    paired within the seed). Columns dataset, seed, metric, reduction, n_runs."""
    if frame.empty or metric not in frame or not frame[metric].notna().any():
        return pd.DataFrame(columns=["dataset", "seed", "metric", "reduction", "n_runs"])
    out = percent_reduction(frame, metric, group=["dataset", "seed"])
    return out[["dataset", "seed", "metric", "reduction", "n_runs"]]


def per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """`seed_reductions` of every metric of METRICS from its replicate experiments."""
    parts = [seed_reductions(replicates_of(frame, exp), m) for m, exp in METRICS.items()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["dataset", "seed", "metric", "reduction", "n_runs"])
    return pd.concat(parts, ignore_index=True)


def summarise(seeds: pd.DataFrame, single: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (dataset, metric): n_seeds, mean, sd, t-interval (module docstring) and the single-seed
    reduction (`single`: columns dataset, metric, reduction; NaN where absent)."""
    rows = []
    for (dataset, metric), part in seeds.groupby(["dataset", "metric"], sort=False):
        mean, sd, lower, upper = t_interval(part["reduction"])
        rows.append({"dataset": dataset, "metric": metric, "n_seeds": len(part), "mean": mean,
                     "sd": sd, "lower": lower, "upper": upper})  # fmt: skip
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-1])
    lookup = {} if single is None else {
        (d, m): r for d, m, r in zip(single["dataset"], single["metric"], single["reduction"], strict=True)
    }  # fmt: skip
    out["single_seed"] = [
        lookup.get(k, np.nan) for k in zip(out["dataset"], out["metric"], strict=True)
    ]
    return out.astype({"n_seeds": int})


def single_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """The single-seed reduction of table `main` per (dataset, metric)."""
    parts = []
    for metric, experiment in METRICS.items():
        sub = frame[frame["experiment"] == experiment]
        if len(sub) and metric in sub and sub[metric].notna().any():
            parts.append(percent_reduction(sub, metric, seed_col="seed"))
    if not parts:
        return pd.DataFrame(columns=["dataset", "metric", "reduction"])
    return pd.concat(parts, ignore_index=True)[["dataset", "metric", "reduction"]]


def replication_table(cf: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table `replication`: tidy (SUMMARY_COLUMNS) and display (dataset × metric cells
    "mean [lower, upper] (single)") from the collected counterfactual metrics of every experiment."""
    tidy = summarise(per_seed(cf), single_seed(cf))
    if tidy.empty:
        raise ValueError("no replicate rows (experiments `<name>_main` / `<name>_mutability`)")
    rank = {d: i for i, d in enumerate(datasets)}
    tidy = tidy.sort_values(
        ["dataset", "metric"],
        key=lambda s: s.map(
            lambda v: rank.get(v, len(rank)) if s.name == "dataset" else list(METRICS).index(v)
        ),
    ).reset_index(drop=True)
    tidy = tidy[SUMMARY_COLUMNS]
    cells = tidy.assign(
        cell=[
            f"{m:.2f} [{lo:.2f}, {hi:.2f}] ({s:.2f})"
            for m, lo, hi, s in zip(
                tidy["mean"], tidy["lower"], tidy["upper"], tidy["single_seed"], strict=True
            )
        ]
    )
    display = cells.pivot(index="dataset", columns="metric", values="cell")
    display = display.reindex(index=pd.unique(tidy["dataset"]), columns=pd.unique(tidy["metric"]))
    display = display.rename(columns=METRIC_LABELS).fillna("—")  # a metric the dataset lacks
    display.columns.name = None
    return tidy, display.reset_index()
