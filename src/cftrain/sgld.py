"""Stochastic gradient Langevin dynamics on an energy (Welling & Teh, ICML 2011), as JEM runs it.

JEM (Grathwohl et al., ICLR 2020, their `train_wrn_ebm.py`) samples by x ← x − α·∇ₓE(x) + σ·ξ,
ξ ~ N(0, I): step α and noise σ are set apart (α = 1, σ = 0.01 in the paper) rather than tied
(σ = √(2α)) as in Welling & Teh. Shared by the `jem` objective (cftrain.baselines.jem) and the
generative-capacity metric (cftrain.evaluation.generative). Every draw comes from `generator`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def uniform_in_box(
    n: int, lower: torch.Tensor, upper: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """`n` points (n, d) uniform in the box [lower, upper] (both (d,)), drawn from `generator`."""
    u = torch.rand((n, lower.shape[0]), generator=generator, dtype=lower.dtype)
    return lower.cpu() + u * (upper.cpu() - lower.cpu())


def sgld(
    energy: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    steps: int,
    step_size: float,
    noise: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """`steps` SGLD steps from `x` (n, d) on `energy(x) -> (n,)`; returns the samples (n, d), detached.

    Gradients are taken w.r.t. the inputs only (`torch.autograd.grad`), so no model parameter
    accumulates `.grad`. A sample whose energy or gradient is non-finite stays non-finite: callers
    count and handle it (cftrain.baselines.jem).
    """
    x = x.detach().clone()
    for _ in range(steps):
        with torch.enable_grad():
            xg = x.requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(xg).sum(), xg)
        xi = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x = (x.detach() - step_size * grad + noise * xi).detach()
    return x
