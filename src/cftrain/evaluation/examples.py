"""Counterfactual examples behind the paper's example figures (method.md §8), stored in the
counterfactual-store format so figures read only HDF5:

- `grid`: MNIST 10×10 grid — per class the first correctly predicted test image, a counterfactual
  to every other class (ECCo λ_egy 25, T 50 max-iterations); the factual sits on the diagonal.
- `digit`: Fig. 2 — one test "0" predicted 0 by every compared model, counterfactuals to 1–9
  (ECCo λ_cost 0.001, λ_egy 1, 1000 steps, start at factual + N(0, 0.1²) noise).
- `poc_free` / `poc_protected`: Fig. 1 — a few factuals of class 0 predicted 0 by every compared
  model, Generic counterfactuals to class 1, without and with the protected feature immutable.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cftrain.generators import ECCo, Generic
from cftrain.search import STEP_SIZE, search_counterfactuals
from cftrain.store import CounterfactualSet

KINDS = ("grid", "digit", "poc_free", "poc_protected")


def common_correct(models: list[nn.Module], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bool mask of test rows every model predicts correctly."""
    ok = torch.ones(len(y), dtype=torch.bool)
    with torch.no_grad():
        for m in models:
            ok &= m(x).argmax(dim=1) == y
    return ok


def first_of_class(preferred: torch.Tensor, y: torch.Tensor, label: int) -> int:
    """First test row of class `label` in `preferred` (all models correct), else the first of the class
    (weak quick-config models may miss a class entirely)."""
    for mask in (preferred & (y == label), y == label):
        hits = torch.nonzero(mask)
        if len(hits):
            return int(hits[0, 0])
    raise ValueError(f"no test sample of class {label}")


def _as_set(res, factual_label: torch.Tensor, attrs: dict) -> CounterfactualSet:
    return CounterfactualSet(
        factual=res.factual.numpy(), counterfactual=res.counterfactual.numpy(), target=res.target.numpy(),
        factual_label=factual_label.numpy().astype(np.int64), converged=res.converged.numpy(),
        steps=res.steps.numpy(), attrs=attrs,
    )  # fmt: skip


def make_examples(
    kind: str, model: nn.Module, peers: list[nn.Module], x: torch.Tensor, y: torch.Tensor, n_classes: int,
    *, lower: torch.Tensor, upper: torch.Tensor, protected: list[int], seed: int,
    mutability: torch.Tensor | None = None,
) -> CounterfactualSet:  # fmt: skip
    """Examples of `kind` for `model`; `peers` (including `model`) fix common factuals.
    `mutability` (codes (d,)) constrains the `grid` search (monotone MNIST); None: unconstrained."""
    ok = common_correct(peers, x, y)
    if kind == "grid":
        idx = torch.tensor([first_of_class(ok, y, c) for c in range(n_classes)])
        factual = x[idx].repeat_interleave(n_classes, dim=0)
        target = torch.arange(n_classes).repeat(n_classes)
        params = {
            "generator": "ecco",
            "lambda_cost": 0.001,
            "lambda_energy": 25.0,
            "max_iter": 50,
            "step_size": STEP_SIZE,
        }
        res = search_counterfactuals(model, factual, target, ECCo(0.001, 25.0), step_size=STEP_SIZE, max_iter=50,
                                     tau=None, lower=lower, upper=upper, mutability=mutability)  # fmt: skip
        diagonal = target == y[idx].repeat_interleave(n_classes)
        res.counterfactual[diagonal] = factual[diagonal]
        res.steps[diagonal] = 0
        return _as_set(res, y[idx].repeat_interleave(n_classes), {"kind": kind, **params})
    if kind == "digit":
        i = first_of_class(ok, y, 0)
        factual = x[i : i + 1].repeat(n_classes - 1, 1)
        target = torch.arange(1, n_classes)
        gen = torch.Generator().manual_seed(int(seed))
        start = factual + 0.1 * torch.randn(factual.shape, generator=gen)
        params = {
            "generator": "ecco",
            "lambda_cost": 0.001,
            "lambda_energy": 1.0,
            "max_iter": 1000,
            "step_size": STEP_SIZE,
        }
        res = search_counterfactuals(model, factual, target, ECCo(0.001, 1.0), step_size=STEP_SIZE, max_iter=1000,
                                     tau=None, lower=lower, upper=upper, start=start)  # fmt: skip
        return _as_set(res, y[i : i + 1].repeat(n_classes - 1), {"kind": kind, **params})
    if kind in ("poc_free", "poc_protected"):
        idx = torch.nonzero(ok & (y == 0))[:, 0]
        if len(idx) == 0:
            idx = torch.nonzero(y == 0)[:, 0]
        idx = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(int(seed)))[:5]]
        codes = None
        if kind == "poc_protected":
            codes = torch.ones(x.shape[1], dtype=torch.int8)
            codes[protected] = 0
        params = {
            "generator": "generic",
            "lambda_cost": 0.1,
            "max_iter": 100,
            "step_size": 0.1,
            "tau": 0.75,
        }
        res = search_counterfactuals(model, x[idx], torch.ones(len(idx), dtype=torch.long), Generic(0.1),
                                     step_size=0.1, max_iter=100, tau=0.75, mutability=codes,
                                     lower=lower, upper=upper)  # fmt: skip
        return _as_set(res, y[idx], {"kind": kind, **params})
    raise ValueError(f"unknown example kind {kind!r}: use one of {KINDS}")
