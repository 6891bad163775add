"""Integrated gradients on protected features, method.md §6.2 "Integrated gradients" (§10.12).

IG (Sundararajan et al., 2017): IGᵢ(x) = (xᵢ − x̄ᵢ) ∫₀¹ ∂f(x̄ + α(x − x̄))/∂xᵢ dα for a baseline x̄.

Choices where the original (a private package) is unknown (method.md §10.12):
- Attributed output: the target-class **logit** by default (`output="logit"`). Both Julia's
  ExplainableAI.jl (softmax stripped) and Captum attribute the raw network output by convention, and
  the softmax probability saturates for confident predictions, which would shrink every attribution
  of a confident (e.g. CT-trained) model towards 0 for reasons unrelated to feature reliance. Per-round
  standardisation removes the unit anyway. `output="probability"` is available.
- Quadrature: the **trapezoidal** rule on `steps` equally spaced points α ∈ {0, 1/(steps−1), …, 1}
  (exact for models linear along the path, error O(1/steps²)); `rule="right"` gives the right Riemann
  sum α ∈ {1/steps, …, 1} of the IG paper.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# Rows (samples × interpolation points) per forward/backward pass: bounds memory for MNIST-size d.
DEFAULT_MAX_ROWS = 65536


def _quadrature(steps: int, rule: str, dtype: torch.dtype, device: torch.device):
    """Interpolation points α (steps,) and weights w (steps,) with Σ w·g(α) ≈ ∫₀¹ g."""
    if rule == "trapezoid":
        if steps < 2:
            raise ValueError("the trapezoidal rule needs steps >= 2")
        alphas = torch.linspace(0.0, 1.0, steps, dtype=dtype, device=device)
        weights = torch.full((steps,), 1.0 / (steps - 1), dtype=dtype, device=device)
        weights[0] = weights[-1] = 0.5 / (steps - 1)
    elif rule == "right":
        alphas = torch.arange(1, steps + 1, dtype=dtype, device=device) / steps
        weights = torch.full((steps,), 1.0 / steps, dtype=dtype, device=device)
    else:
        raise ValueError(f"unknown rule {rule!r}: use 'trapezoid' or 'right'")
    return alphas, weights


def _target_output(model: nn.Module, x: torch.Tensor, target: torch.Tensor, output: str):
    logits = model(x)
    if output == "probability":
        logits = torch.softmax(logits, dim=1)
    elif output != "logit":
        raise ValueError(f"unknown output {output!r}: use 'logit' or 'probability'")
    return logits.gather(1, target[:, None]).squeeze(1)


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor,
    *,
    steps: int = 50,
    output: str = "logit",
    rule: str = "trapezoid",
    max_rows: int = DEFAULT_MAX_ROWS,
) -> torch.Tensor:
    """IG attributions (n, d) of the `target` (n,) class output at `x` (n, d) w.r.t. `baseline`.

    `baseline` is (n, d) or (d,) (broadcast). `steps` interpolation points (default 50, as the MNIST
    script), `output` "logit" (default) or "probability", `rule` "trapezoid" (default) or "right".
    All samples × points are batched, in chunks of at most `max_rows` rows. Completeness:
    Σⱼ IGⱼ ≈ f(x) − f(baseline). Parameters never accumulate `.grad`.
    """
    x = x.detach()
    baseline = baseline.detach().to(x.device, x.dtype).expand_as(x)
    target = target.to(x.device, torch.long)
    alphas, weights = _quadrature(steps, rule, x.dtype, x.device)
    chunk = max(1, max_rows // steps)
    was_training = model.training
    model.eval()
    out = []
    for xc, bc, tc in zip(x.split(chunk), baseline.split(chunk), target.split(chunk), strict=True):
        diff = xc - bc
        # (m, steps, d) path points, flattened to one batch of m·steps rows.
        path = (bc[:, None, :] + alphas[None, :, None] * diff[:, None, :]).reshape(-1, x.shape[1])
        with torch.enable_grad():
            path.requires_grad_(True)
            f = _target_output(model, path, tc.repeat_interleave(steps), output)
            (grad,) = torch.autograd.grad(f.sum(), path)
        grad = grad.reshape(xc.shape[0], steps, -1)
        out.append(diff * torch.einsum("msd,s->md", grad, weights))
    model.train(was_training)
    return torch.cat(out)


def random_baseline(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Baseline drawn from U(−1, 1) of `shape` (`baseline_type="random"`), float32, on CPU."""
    return 2.0 * torch.rand(shape, generator=generator) - 1.0


def standardise_attributions(attributions: torch.Tensor, two_dimensional: bool) -> torch.Tensor:
    """Per-round standardisation over the last (feature) axis of `attributions` (..., d).

    `two_dimensional` (2-D synthetic data): |g| / (max g − min g); otherwise (g − min g) / (max g −
    min g). Input g is the per-feature mean attribution over a round's samples (signed). Equal
    attributions on all features (zero range) give NaN: there is nothing to rank.
    """
    g = attributions
    hi = g.amax(dim=-1, keepdim=True)
    lo = g.amin(dim=-1, keepdim=True)
    span = hi - lo
    numerator = g.abs() if two_dimensional else g - lo
    return torch.where(span > 0, numerator / span.clamp(min=torch.finfo(g.dtype).tiny), np.nan)


def protected_ig_rounds(
    model: nn.Module,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    protected: list[int] | torch.Tensor,
    *,
    rounds: int = 100,
    n_samples: int = 2500,
    steps: int = 50,
    output: str = "logit",
    rule: str = "trapezoid",
    two_dimensional: bool | None = None,
    generator: torch.Generator,
) -> np.ndarray:
    """Standardised IG of the protected features, one value per round: float64 array (rounds,).

    Each round draws `n_samples` rows of `x_test` (N, d) with replacement and one U(−1,1) baseline per
    row, attributes the true label `y_test` (N,), averages the (signed) attributions over the samples
    per feature, standardises across features (`two_dimensional` defaults to d == 2) and averages
    the protected feature indices `protected`. Defaults: 100 rounds × 2,500 samples, 50 steps.
    """
    n, d = x_test.shape
    two_dimensional = d == 2 if two_dimensional is None else two_dimensional
    protected = torch.as_tensor(protected, dtype=torch.long)
    values = np.empty(rounds)
    for r in range(rounds):
        idx = torch.randint(n, (n_samples,), generator=generator).to(x_test.device)
        baseline = random_baseline((n_samples, d), generator).to(x_test.device, x_test.dtype)
        attributions = integrated_gradients(
            model, x_test[idx], y_test[idx], baseline, steps=steps, output=output, rule=rule
        )
        standardised = standardise_attributions(attributions.mean(dim=0), two_dimensional)
        values[r] = float(standardised[protected.to(standardised.device)].mean())
    return values


def summarise_rounds(values: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Median and central `level` percentile interval (default 2.5/97.5 %) of per-round values:
    {"median", "lower", "upper", "rounds"}. Quantiles interpolate linearly (Julia's default too)."""
    values = np.asarray(values, dtype=float)
    tail = (1.0 - level) / 2.0
    lower, median, upper = np.quantile(values, [tail, 0.5, 1.0 - tail])
    return {
        "median": float(median),
        "lower": float(lower),
        "upper": float(upper),
        "rounds": len(values),
    }
