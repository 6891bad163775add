"""Adversarial robustness of method.md §6.2 "Predictive performance": FGSM, PGD, robust accuracy.

Both attacks are ℓ∞, untargeted, maximise the cross-entropy w.r.t. the *true* labels and never clamp
to the data domain (method.md §10.14: ε is in standardised units for tabular data). Gradients are
taken w.r.t. the inputs only (`torch.autograd.grad`), so model parameters never accumulate `.grad`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from cftrain.metrics import predict_labels

# Default ε grid: Julia `range(0, 0.1, length=10)`.
DEFAULT_EPS = torch.linspace(0.0, 0.1, 10)


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇ₓ Σᵢ CE(model(xᵢ), yᵢ) (n, d); summed so every row gets exactly its own gradient."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al., 2015): x + ε·sign(∇ₓ CE(M(x), y)).

    `x` (n, d) float, `y` (n,) true labels, `eps` ≥ 0 (ℓ∞ radius). Returns x_adv (n, d), detached.
    """
    y = y.to(x.device, torch.long)
    return (x + eps * _input_gradient(model, x, y).sign()).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    steps: int = 40,
    alpha: float = 0.01,
    generator: torch.Generator,
    random_start: bool = True,
) -> torch.Tensor:
    """Projected gradient descent (Madry et al., 2018), ℓ∞, random start.

    δ₀ ~ U(−ε, ε) drawn from `generator` (δ₀ = 0 and no draw with `random_start=False`); then `steps` times δ ← clip_[−ε,ε](δ + α·sign(∇ₓ CE(M(x+δ),
    y))). `x` (n, d), `y` (n,) true labels. Defaults: 40 steps, α = 0.01 (method.md §6.2). Returns
    x + δ (n, d), detached; ‖δ‖∞ ≤ ε by construction.
    """
    y = y.to(x.device, torch.long)
    x = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=generator.device)
        delta = ((2.0 * noise - 1.0) * eps).to(x.device)
    else:
        delta = torch.zeros_like(x)
    for _ in range(steps):
        grad = _input_gradient(model, x + delta, y)
        delta = (delta + alpha * grad.sign()).clamp(-eps, eps)
    return (x + delta).detach()


def robust_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps_values: torch.Tensor | list[float] | None = None,
    attack: str | Callable[..., torch.Tensor] = "fgsm",
    *,
    generator: torch.Generator | None = None,
    steps: int = 40,
    alpha: float = 0.01,
    batch_size: int = 4096,
) -> pd.DataFrame:
    """Accuracy on attacked copies of the test set `x` (n, d), `y` (n,), one row per ε.

    `attack` is "fgsm", "pgd" (needs `generator`) or a callable `(model, x, y, eps) -> x_adv`.
    `eps_values` default `DEFAULT_EPS` = linspace(0, 0.1, 10). Batched by `batch_size` rows to bound
    memory. Returns a tidy DataFrame with columns `attack`, `eps`, `accuracy`.
    """
    eps_values = DEFAULT_EPS if eps_values is None else eps_values
    eps_list = [float(e) for e in eps_values]
    if attack == "fgsm":
        name, run = "fgsm", fgsm
    elif attack == "pgd":
        if generator is None:
            raise ValueError("pgd needs an explicit torch.Generator for its random start")

        def run(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor, eps: float) -> torch.Tensor:
            return pgd(m, xb, yb, eps, steps=steps, alpha=alpha, generator=generator)

        name = "pgd"
    elif callable(attack):
        name, run = getattr(attack, "__name__", "custom"), attack
    else:
        raise ValueError(f"unknown attack {attack!r}: use 'fgsm', 'pgd' or a callable")

    was_training = model.training
    model.eval()
    y = y.to(x.device, torch.long)
    rows = []
    for eps in eps_list:
        correct = sum(
            int((predict_labels(model, run(model, xb, yb, eps)) == yb).sum())
            for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True)
        )
        rows.append({"attack": name, "eps": eps, "accuracy": correct / x.shape[0]})
    model.train(was_training)
    return pd.DataFrame(rows)
