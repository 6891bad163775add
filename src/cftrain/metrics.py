"""Counterfactual and predictive metrics of method.md §6.2: validity, cost, IP, IP* (MMD), accuracy.

Every function takes plain tensors and is vectorised over counterfactuals; the only Python loops are
over target classes (at most K) and over memory-bounding chunks. All other CE metrics are meant to be
computed on *valid* CEs only (method.md §6.2): filter with `validity` before calling them.
`COUNTERFACTUAL_METRICS` (end of the module) is the registry the per-run scores are computed from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

# Rows of counterfactuals per torch.cdist call: bounds the (chunk, n_reference) distance block.
DEFAULT_CHUNK_SIZE = 1024


@torch.no_grad()
def predict_labels(model: nn.Module, x: torch.Tensor, *, batch_size: int = 8192) -> torch.Tensor:
    """Argmax labels (n,) int64 of `model` (K logits) on `x` (n, d), in eval mode, in batches."""
    was_training = model.training
    model.eval()
    labels = torch.cat([model(chunk).argmax(dim=1) for chunk in x.split(batch_size)])
    model.train(was_training)
    return labels


def validity(model: nn.Module, counterfactual: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Bool (n,): argmax of `model` on `counterfactual` (n, d) equals `target` (n,).

    τ-free on purpose (method.md §10.13): CE.jl ≥ 1.4.2 counts a CE as valid when the predicted label
    is the target, even if the search stopped at T below the τ threshold.
    """
    return predict_labels(model, counterfactual) == target.to(counterfactual.device, torch.long)


def cost(counterfactual: torch.Tensor, factual: torch.Tensor) -> torch.Tensor:
    """ℓ1 distance (n,) between `counterfactual` and `factual`, both (n, d), in model input space."""
    return (counterfactual - factual).abs().sum(dim=1)


def mean_l1_distance(
    x: torch.Tensor,
    reference: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> torch.Tensor:
    """Weighted mean ℓ1 distance (m,) of each row of `x` (m, d) to the rows of `reference` (r, d).

    `weights` (r,) default uniform; they are normalised to sum 1. Chunked over rows of `x` so the
    distance block never exceeds `chunk_size` × r.
    """
    if weights is None:
        weights = torch.ones(reference.shape[0], dtype=x.dtype, device=x.device)
    weights = (weights / weights.sum()).to(x.dtype)
    out = [torch.cdist(chunk, reference, p=1.0) @ weights for chunk in x.split(chunk_size)]
    return torch.cat(out) if out else x.new_zeros(0)


def distance_implausibility(
    counterfactual: torch.Tensor,
    target: torch.Tensor,
    x_ref: torch.Tensor,
    y_ref: torch.Tensor,
    *,
    n_draws: int = 1000,
    generator: torch.Generator,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> torch.Tensor:
    """IP (n,): mean ℓ1 distance of each CE (n, d) to `n_draws` reference samples of its target class.

    Reference data `x_ref` (N, d) with labels `y_ref` (N,) is the evaluation (test) set. As in CE.jl
    (`distance_from_target` with K = n_draws nearest of n_draws draws = all of them), the draws are
    made *with replacement* from the ground-truth target-class samples. Choice: one draw set per
    target class, shared by all CEs with that target (CE.jl draws per CE; the expectation is equal and
    sharing makes the metric one matrix product per class). The draws enter as multiplicity counts
    over the unique class samples, which is exactly the mean over the drawn set. Reported positive
    (CE.jl stores it negative; the tables take absolute values). Default `n_draws=1000`.
    """
    target = target.to(counterfactual.device, torch.long)
    y_ref = y_ref.to(x_ref.device, torch.long)
    out = counterfactual.new_full((counterfactual.shape[0],), float("nan"))
    for cls in torch.unique(target).tolist():
        pool = x_ref[y_ref == cls]
        if pool.shape[0] == 0:
            raise ValueError(f"no reference samples of target class {cls}")
        draws = torch.randint(pool.shape[0], (n_draws,), generator=generator)
        counts = torch.bincount(draws, minlength=pool.shape[0]).to(pool.device)
        used = counts > 0
        rows = target == cls
        out[rows] = mean_l1_distance(
            counterfactual[rows],
            pool[used],
            counts[used].to(counterfactual.dtype),
            chunk_size=chunk_size,
        )
    return out


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, length_scale: float) -> torch.Tensor:
    """Gram matrix (m, n) of k(x, y) = exp(−‖x − y‖² / (2ℓ²)) for `x` (m, d), `y` (n, d)."""
    sq = torch.cdist(x, y, p=2.0).square()
    return torch.exp(-sq / (2.0 * length_scale**2))


def mmd2_unbiased(
    x: torch.Tensor, y: torch.Tensor, length_scale: float, *, clamp: bool = True
) -> float:
    """Unbiased squared MMD between samples `x` (m, d) and `y` (n, d), Gaussian kernel, clamped ≥ 0.

    MMD²ᵤ = Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ k(xᵢ,yⱼ)/(mn), computed in
    float64. The estimate can be negative; like the original code it is clamped at 0 (`clamp=False`
    returns the raw estimate, for tests). NaN if m or n < 2.
    """
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        return float("nan")
    x, y = x.double(), y.double()
    kxx = gaussian_kernel(x, x, length_scale)
    kyy = gaussian_kernel(y, y, length_scale)
    kxy = gaussian_kernel(x, y, length_scale)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    mmd2 = float(term_x + term_y - 2.0 * kxy.mean())
    return max(mmd2, 0.0) if clamp else mmd2


def _subsample(x: torch.Tensor, n_max: int, generator: np.random.Generator) -> torch.Tensor:
    """At most `n_max` rows of `x` without replacement: the first `n_max` of a permutation (drawn
    even when `x` has fewer rows, so the stream of `generator` does not depend on the sizes)."""
    idx = torch.as_tensor(generator.permutation(x.shape[0])[:n_max], device=x.device)
    return x[idx]


def divergence_implausibility(
    counterfactual: torch.Tensor,
    target: torch.Tensor,
    x_ref: torch.Tensor,
    y_ref: torch.Tensor,
    *,
    n_samples: int = 100,
    length_scale: float = 5.0,
    generator: np.random.Generator,
) -> dict[int, float]:
    """IP* per target class: {class: MMD²ᵤ(CEs with that target, target-class reference samples)}.

    `counterfactual` (n, d), `target` (n,); reference `x_ref` (N, d), `y_ref` (N,) = test set.
    Both sides are subsampled *without replacement* to at most `n_samples` (code: `ndiv=100`),
    per class in ascending class order, counterfactuals first, from the numpy `generator`.
    `length_scale` default 5.0 is the original code's default; the paper states 0.5 (method.md
    §10.3). Whether invalid CEs belong in the sample is not known (§10.3): pass what you mean to use.
    """
    target = target.to(counterfactual.device, torch.long)
    y_ref = y_ref.to(x_ref.device, torch.long)
    result: dict[int, float] = {}
    for cls in torch.unique(target).tolist():
        ces = _subsample(counterfactual[target == cls], n_samples, generator)
        ref = _subsample(x_ref[y_ref == cls], n_samples, generator)
        result[int(cls)] = mmd2_unbiased(ces, ref, length_scale)
    return result


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of `x` (n, d) whose argmax prediction equals the true label `y` (n,)."""
    return float((predict_labels(model, x) == y.to(x.device, torch.long)).double().mean())


def macro_f1(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> float:
    """Unweighted mean over `n_classes` of per-class F1 (appendix); a class with no support and no
    predictions scores 0 (as scikit-learn's zero_division=0)."""
    pred = predict_labels(model, x)
    y = y.to(pred.device, torch.long)
    confusion = torch.bincount(y * n_classes + pred, minlength=n_classes**2).reshape(n_classes, -1)
    tp = confusion.diagonal().double()
    denom = confusion.sum(dim=0).double() + confusion.sum(dim=1).double()
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp))
    return float(f1.mean())


# ---- The counterfactual metric registry (method.md §6.2) ----------------------------------------
# `cftrain.evaluation.scores.score_counterfactuals` computes every entry of COUNTERFACTUAL_METRICS,
# in this order, into one CSV column each (after run, n, n_valid); a metric added here lands in the
# per-run table without any other change (docs/extending.md).


@dataclass
class ScoringContext:
    """What a metric sees for one counterfactual file: tensors over all its CEs (n rows), the
    evaluation (test) set as reference, the scoring settings and the seeded generators (`torch_rng`
    for IP's reference draws, `numpy_rng` for IP*'s subsamples)."""

    counterfactual: torch.Tensor  # (n, d)
    factual: torch.Tensor  # (n, d)
    target: torch.Tensor  # (n,)
    valid: np.ndarray  # (n,) bool: predicted label == target
    x_ref: torch.Tensor  # (N, d)
    y_ref: torch.Tensor  # (N,)
    ip_draws: int
    mmd_samples: int
    mmd_length_scale: float
    torch_rng: torch.Generator
    numpy_rng: np.random.Generator


@dataclass(frozen=True)
class CounterfactualMetric:
    """One per-run metric. Either `per_ce(ctx) -> (n,)`, computed once for all CEs of the file and
    averaged over each run's *valid* CEs (NaN when a run has none), or `per_run(ctx, in_run) ->
    float` with `in_run` the (n,) bool mask of the run's CEs."""

    per_ce: Callable[[ScoringContext], np.ndarray] | None = None
    per_run: Callable[[ScoringContext, np.ndarray], float] | None = None


def _validity_rate(ctx: ScoringContext, in_run: np.ndarray) -> float:
    return float(ctx.valid[in_run].mean())  # over all the run's CEs, valid or not


def _cost(ctx: ScoringContext) -> np.ndarray:
    return cost(ctx.counterfactual, ctx.factual).numpy()


def _ip(ctx: ScoringContext) -> np.ndarray:
    return distance_implausibility(
        ctx.counterfactual, ctx.target, ctx.x_ref, ctx.y_ref, n_draws=ctx.ip_draws,
        generator=ctx.torch_rng,
    ).numpy()  # fmt: skip


def _ip_star(ctx: ScoringContext, in_run: np.ndarray) -> float:
    """IP* per target class of the run's valid CEs (NaN where a side has < 2 samples), averaged
    over the classes."""
    ok = torch.as_tensor(in_run & ctx.valid)
    per_class = divergence_implausibility(
        ctx.counterfactual[ok], ctx.target[ok], ctx.x_ref, ctx.y_ref, n_samples=ctx.mmd_samples,
        length_scale=ctx.mmd_length_scale, generator=ctx.numpy_rng,
    )  # fmt: skip
    values = [v for v in per_class.values() if not np.isnan(v)]
    return float(np.mean(values)) if values else np.nan


COUNTERFACTUAL_METRICS: dict[str, CounterfactualMetric] = {
    "validity": CounterfactualMetric(per_run=_validity_rate),
    "cost": CounterfactualMetric(per_ce=_cost),
    "ip": CounterfactualMetric(per_ce=_ip),
    "ip_star": CounterfactualMetric(per_run=_ip_star),
}
