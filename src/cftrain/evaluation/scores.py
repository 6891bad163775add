"""Per-run counterfactual metrics of method.md §6.2: validity, cost, IP and IP* of valid CEs.

One tidy row per (model, run, test-time setting), so every aggregate can be recomputed. The metrics
themselves live in `cftrain.metrics` only; this module selects the rows and aggregates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cftrain.metrics import cost, distance_implausibility, divergence_implausibility
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
    """Rows (run, n, n_valid, validity, cost, ip, ip_star) for one store file; metrics over valid CEs."""
    gen_t = torch.Generator().manual_seed(int(seed))  # IP reference draws
    gen_np = np.random.default_rng(int(seed))  # IP* subsamples
    cf = torch.as_tensor(cs.counterfactual)
    target = torch.as_tensor(cs.target)
    x_ref_t, y_ref_t = torch.as_tensor(x_ref), torch.as_tensor(y_ref)
    valid = cs.extra["predicted"] == cs.target
    costs = cost(cf, torch.as_tensor(cs.factual)).numpy()
    ip = distance_implausibility(
        cf, target, x_ref_t, y_ref_t, n_draws=ip_draws, generator=gen_t
    ).numpy()
    run = cs.extra["run"]
    rows = []
    for r in np.unique(run):
        in_run = run == r
        ok = in_run & valid
        # IP* per target class (NaN where either side has < 2 samples), averaged over the classes.
        per_class = divergence_implausibility(
            cf[torch.as_tensor(ok)], target[torch.as_tensor(ok)], x_ref_t, y_ref_t,
            n_samples=mmd_samples, length_scale=mmd_length_scale, generator=gen_np,
        )  # fmt: skip
        ip_star = [v for v in per_class.values() if not np.isnan(v)]
        rows.append({
            "run": int(r),
            "n": int(in_run.sum()),
            "n_valid": int(ok.sum()),
            "validity": float(valid[in_run].mean()),
            "cost": float(costs[ok].mean()) if ok.any() else np.nan,
            "ip": float(ip[ok].mean()) if ok.any() else np.nan,
            "ip_star": float(np.mean(ip_star)) if ip_star else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
