"""Generic generator: ℓ1 distance penalty (Wachter-style without MAD), method.md §3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from cftrain.generators import register
from cftrain.generators.base import Generator, l1_distance


@register
@dataclass
class Generic(Generator):
    """Penalty λ_cost·‖x′ − x‖₁. Args: lambda_cost (default 0.001)."""

    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "Generic"
    colour: ClassVar[str] = "tab:purple"

    lambda_cost: float = 0.001

    def penalty(self, x_cf, factual, logits, target, step, max_iter, l1=True) -> torch.Tensor:
        if not l1:  # the search differentiates the ℓ1 term itself (`l1_weight`)
            return torch.zeros(x_cf.shape[0], dtype=x_cf.dtype, device=x_cf.device)
        return self.lambda_cost * l1_distance(x_cf, factual)

    def l1_weight(self) -> float:
        return float(self.lambda_cost)
