"""ECCo (ECCCo without the conformal term): ℓ1 + decayed energy penalty, method.md §3.

pen_egy(x′) = φ(t)·(E + r·E²), E = −M(x′)[y⁺], r = 1e-3, φ(t) = a·(b + t)^−0.9 with b = round(T/25)
(round half to even, as Julia), a = b/10 and t = completed steps + 1. T = 5 gives b = 0, so φ ≡ 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from cftrain.generators import register
from cftrain.generators.base import Generator, l1_distance

ENERGY_RIDGE = 1e-3


def energy_schedule(step: int, max_iter: int) -> float:
    """φ(t) for t = step + 1 completed-steps convention; Python's round is half-to-even like Julia's."""
    b = round(max_iter / 25)
    a = b / 10
    if b == 0:
        return 0.0
    return a * (b + step + 1) ** -0.9


@register
@dataclass
class ECCo(Generator):
    """Penalties [ℓ1 distance, energy] with weights (lambda_cost=0.001, lambda_energy=5.0)."""

    name: ClassVar[str] = "ecco"
    label: ClassVar[str] = "ECCo"
    colour: ClassVar[str] = "tab:red"

    lambda_cost: float = 0.001
    lambda_energy: float = 5.0

    def penalty(self, x_cf, factual, logits, target, step, max_iter, l1=True) -> torch.Tensor:
        # l1=False: without the ℓ1 term, which the search then differentiates itself (`l1_weight`)
        out = self.lambda_cost * l1_distance(x_cf, factual) if self.lambda_cost and l1 else 0.0
        phi = energy_schedule(step, max_iter)
        if phi and self.lambda_energy:
            energy = -logits.gather(1, target[:, None]).squeeze(1)
            out = out + self.lambda_energy * phi * (energy + ENERGY_RIDGE * energy**2)
        if isinstance(out, float):
            return torch.zeros(x_cf.shape[0], dtype=x_cf.dtype, device=x_cf.device)
        return out

    def l1_weight(self) -> float:
        return float(self.lambda_cost)
