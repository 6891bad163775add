"""Per-run counterfactual metrics of method.md §6.2: validity, cost, IP and IP* of valid CEs.

One tidy row per (model, run, test-time setting), so every aggregate can be recomputed. The metrics
themselves live in `cftrain.metrics` only, in its registry `COUNTERFACTUAL_METRICS`: this module
computes every registered metric, in registry order, and lays the rows out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cftrain.metrics import COUNTERFACTUAL_METRICS, ScoringContext
from cftrain.store import CounterfactualSet


def score_counterfactuals(
    cs: CounterfactualSet,
    x_ref: np.ndarray,
    y_ref: np.ndarray,
    *,
    ip_draws: int = 1000,
    mmd_samples: int = 100,
    mmd_length_scale: float = 5.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Rows (run, n, n_valid, *COUNTERFACTUAL_METRICS) for one store file (by default validity,
    cost, ip, ip_star); metrics over valid CEs."""
    ctx = ScoringContext(
        counterfactual=torch.as_tensor(cs.counterfactual),
        factual=torch.as_tensor(cs.factual),
        target=torch.as_tensor(cs.target),
        valid=cs.extra["predicted"] == cs.target,
        x_ref=torch.as_tensor(x_ref),
        y_ref=torch.as_tensor(y_ref),
        ip_draws=ip_draws,
        mmd_samples=mmd_samples,
        mmd_length_scale=mmd_length_scale,
        torch_rng=torch.Generator().manual_seed(int(seed)),  # IP reference draws
        numpy_rng=np.random.default_rng(int(seed)),  # IP* subsamples
    )
    # Per-CE metrics first, once for the whole file (registry order), then per run.
    per_ce = {name: m.per_ce(ctx) for name, m in COUNTERFACTUAL_METRICS.items() if m.per_ce}
    run = cs.extra["run"]
    rows = []
    for r in np.unique(run):
        in_run = run == r
        ok = in_run & ctx.valid
        row = {"run": int(r), "n": int(in_run.sum()), "n_valid": int(ok.sum())}
        for name, metric in COUNTERFACTUAL_METRICS.items():
            if metric.per_ce:
                row[name] = float(per_ce[name][ok].mean()) if ok.any() else np.nan
            else:
                row[name] = metric.per_run(ctx, in_run)
        rows.append(row)
    return pd.DataFrame(rows)
