"""Batched counterfactual search (method.md §3 "Common search", §2 step 4, §1 AE definition).

All factuals of a sweep move as one tensor. Per-sample losses are *summed*, so every sample's gradient
is exactly its own (method.md §10.15) and the batch equals running CE.jl's search one factual at a
time. Each step: g = ∇ₛ[CE(M(x′), y⁺) + penalty]; Δ = −η·g (NaN → 0); mutability mask on Δ; s += Δ;
clamp to the domain box; a sample stops as soon as p(y⁺|x′) ≥ τ (frozen from then on) or after T
steps. The adversarial example is the last iterate with ‖x′ₜ − x‖∞ ≤ ε (t = 0 included), tracked on
the fly without storing the path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cftrain.constraints import apply_mutability
from cftrain.generators.base import Generator


@dataclass
class SearchResult:
    """Plain tensors: factual (n,d), counterfactual (n,d), target (n,), converged (n,) bool,
    steps (n,) int32, adversarial (n,d)."""

    factual: torch.Tensor
    counterfactual: torch.Tensor
    target: torch.Tensor
    converged: torch.Tensor
    steps: torch.Tensor
    adversarial: torch.Tensor


def _clamp(x: torch.Tensor, lower: torch.Tensor | None, upper: torch.Tensor | None) -> torch.Tensor:
    if lower is None and upper is None:
        return x
    return torch.clamp(x, min=lower, max=upper)


def search_counterfactuals(
    model: nn.Module,
    factual: torch.Tensor,
    target: torch.Tensor,
    generator: Generator,
    *,
    step_size: float = 0.25,
    max_iter: int = 30,
    tau: float | None = 0.5,
    mutability: torch.Tensor | None = None,
    lower: torch.Tensor | None = None,
    upper: torch.Tensor | None = None,
    epsilon: float = 0.3,
    rng: torch.Generator | None = None,
    start: torch.Tensor | None = None,
) -> SearchResult:
    """Run the search for all rows of `factual` (n, d) towards `target` (n,) at once.

    `tau=None` means max-iteration convergence (every sample takes `max_iter` steps; converged = True
    at the end, CE.jl `MaxIterConvergence`). `mutability` holds per-feature codes (d,) of
    `cftrain.constraints`; `lower`/`upper` the domain box (d,). `rng` drives REVISE's re-encoding.
    `start` (n, d) replaces the identity initialisation (CE.jl `:add_perturbation` passes the
    factual plus noise); penalties still measure distance to `factual`.
    """
    was_training = model.training
    model.eval()
    x0 = factual.detach()
    target = target.to(device=x0.device, dtype=torch.long)
    n = x0.shape[0]
    latent = generator.latent
    with torch.no_grad():
        init = x0 if start is None else start.detach()
        state = generator.encode(init, rng) if latent else init.clone()
        x_cur = _clamp(generator.decode(state), lower, upper) if latent else state.clone()
    adversarial = x0.clone()
    steps = torch.zeros(n, dtype=torch.int32, device=x0.device)
    active = torch.ones(n, dtype=torch.bool, device=x0.device)
    converged = torch.zeros(n, dtype=torch.bool, device=x0.device)

    for step in range(max_iter + 1):
        idx = active.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        s = state[idx].detach().requires_grad_(True)
        x = _clamp(generator.decode(s), lower, upper) if latent else s
        logits = model(x)
        if tau is not None:
            with torch.no_grad():
                prob = torch.softmax(logits.detach(), dim=1).gather(1, target[idx, None]).squeeze(1)
                done = prob >= tau
            if done.any():
                converged[idx[done]] = True
                active[idx[done]] = False
        if step == max_iter:
            break
        keep = active[idx]
        if not keep.any():
            break
        tgt = target[idx]
        loss = F.cross_entropy(logits, tgt, reduction="sum")
        loss = loss + generator.penalty(x, x0[idx], logits, tgt, step, max_iter).sum()
        (grad,) = torch.autograd.grad(loss, s)
        with torch.no_grad():
            delta = torch.nan_to_num(-step_size * grad, nan=0.0)
            sel = idx[keep]
            s_old = s.detach()[keep]
            if latent:
                x_new = _clamp(generator.decode(s_old + delta[keep]), lower, upper)
                state[sel] = generator.encode(x_new, rng)
            else:
                delta = apply_mutability(delta[keep], mutability)
                x_new = _clamp(s_old + delta, lower, upper)
                # The clamp must not break mutability (a factual outside the box): re-mask the move.
                x_new = s_old + apply_mutability(x_new - s_old, mutability)
                state[sel] = x_new
                x_cur[sel] = x_new
            steps[sel] += 1
            inside = (x_new - x0[sel]).abs().amax(dim=1) <= epsilon
            adversarial[sel[inside]] = x_new[inside]

    if latent:
        with torch.no_grad():
            x_cur = _clamp(generator.decode(state), lower, upper)
    if tau is None:
        converged = steps >= max_iter
    model.train(was_training)
    return SearchResult(
        factual=x0,
        counterfactual=x_cur.detach(),
        target=target,
        converged=converged,
        steps=steps,
        adversarial=adversarial,
    )
