"""Per-run counterfactual metrics of method.md §6.2: validity, cost, IP and IP* of valid CEs.

One tidy row per (model, run, test-time setting), so every aggregate can be recomputed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cftrain.metrics import cost, distance_implausibility, mmd2_unbiased
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
    gen_t = torch.Generator().manual_seed(int(seed))
    gen_np = np.random.default_rng(int(seed))
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
        ip_star = []
        for t in np.unique(cs.target[ok]):
            group = cs.counterfactual[ok & (cs.target == t)]
            ref = x_ref[y_ref == t]
            group = group[gen_np.permutation(len(group))[:mmd_samples]]
            ref = ref[gen_np.permutation(len(ref))[:mmd_samples]]
            if len(group) >= 2 and len(ref) >= 2:
                ip_star.append(
                    mmd2_unbiased(torch.as_tensor(group), torch.as_tensor(ref), mmd_length_scale)
                )
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
