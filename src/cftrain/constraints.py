"""Actionability and domain constraints (method.md §2 "Mutability", §2 "Domain constraints", §4).

Mutability is one code per feature, as in CE.jl: `none` (immutable), `both`, `increase`, `decrease`.
It masks every proposed search step (`apply_mutability`) and protects the neighbours that serve as
positive samples in the CT objective (`protect_immutable_neighbours`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

NONE, BOTH, INCREASE, DECREASE = 0, 1, 2, 3
MUTABILITY_CODES = {"none": NONE, "both": BOTH, "increase": INCREASE, "decrease": DECREASE}


def mutability_vector(
    n_features: int, protected: Sequence[int] = (), rules: dict | None = None
) -> np.ndarray:
    """Codes (int8, shape (d,)) with `protected` (0-based) set to `none` and `rules` {index: name} applied."""
    codes = np.full(n_features, BOTH, dtype=np.int8)
    for index in protected:
        if not 0 <= int(index) < n_features:
            raise ValueError(f"protected feature index {index} outside 0..{n_features - 1}")
        codes[int(index)] = NONE
    for index, name in (rules or {}).items():
        if name not in MUTABILITY_CODES:
            raise ValueError(
                f"mutability {name!r} for feature {index}: use one of {sorted(MUTABILITY_CODES)}"
            )
        codes[int(index)] = MUTABILITY_CODES[name]
    return codes


def apply_mutability(delta: torch.Tensor, codes: torch.Tensor | None) -> torch.Tensor:
    """Mask a proposed step (n, d): `none`→0, `increase`→max(Δ,0), `decrease`→min(Δ,0) (CE.jl `apply_mutability`)."""
    if codes is None:
        return delta
    zero = torch.zeros((), dtype=delta.dtype, device=delta.device)
    out = torch.where(codes == NONE, zero, delta)
    out = torch.where(codes == INCREASE, out.clamp(min=0), out)
    return torch.where(codes == DECREASE, out.clamp(max=0), out)


def protect_immutable_neighbours(
    neighbour: torch.Tensor, counterfactual: torch.Tensor, codes: torch.Tensor | None
) -> torch.Tensor:
    """Protect the positive samples x⁺ per feature (method.md §2 step 7, `protect_immutable!`).

    `none` → x⁺[d] := x′[d]; `increase` → max(x′[d], x⁺[d]); `decrease` → min(x′[d], x⁺[d]); `both` unchanged.
    """
    if codes is None:
        return neighbour
    out = torch.where(codes == NONE, counterfactual, neighbour)
    out = torch.where(codes == INCREASE, torch.maximum(counterfactual, neighbour), out)
    return torch.where(codes == DECREASE, torch.minimum(counterfactual, neighbour), out)


def infer_domain(x: np.ndarray, n_std: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature box lb=min(μ−kσ, min x), ub=max(μ+kσ, max x) (`infer_domain_constraints`; code k=2, paper 3)."""
    x = np.asarray(x, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
    lower = np.minimum(mean - n_std * std, x.min(axis=0))
    upper = np.maximum(mean + n_std * std, x.max(axis=0))
    return lower.astype(np.float32), upper.astype(np.float32)
