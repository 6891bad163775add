"""Wachter (Wachter, Mittelstadt & Russell 2017, "Counterfactual explanations without opening the
black box"): the classic baseline, cross-entropy towards the target + λ·ℓ2 distance, method.md §3.

What this follows and why: CounterfactualExplanations.jl's `WachterGenerator(; λ=0.1)` is the
common search with penalty `distance_mad` — the ℓ1 distance with each feature weighted by
1/(MAD + d·1e-5), MAD taken over the whole data set. This project's `Generic` generator is already
that ℓ1 penalty without the MAD weights (features are standardised), so a MAD-ℓ1 Wachter would
differ from it only by per-feature data statistics that the generator interface does not see.
The issue asks for the textbook form, "ℓ2 cost + cross-entropy", and this generator implements
exactly that: penalty λ·‖x′ − x‖₂ (the Euclidean norm, not squared — CE.jl's `distance_l2`, p = 2,
no MAD weights), with CE.jl's default weight λ = 0.1. The norm's gradient at x′ = x (the first step)
is taken as 0, so the first step follows the cross-entropy alone. No energy term: at test time the
`evaluation.lambda_energy` sweep must hold one value (cftrain.validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from cftrain.generators import register
from cftrain.generators.base import Generator


@register
@dataclass
class Wachter(Generator):
    """Penalty λ_cost·‖x′ − x‖₂ per sample (n,). Args: lambda_cost (default 0.1, CE.jl's λ)."""

    name: ClassVar[str] = "wachter"
    label: ClassVar[str] = "Wachter"
    colour: ClassVar[str] = "tab:olive"

    lambda_cost: float = 0.1

    def penalty(self, x_cf, factual, logits, target, step, max_iter) -> torch.Tensor:
        return self.lambda_cost * torch.linalg.vector_norm(x_cf - factual, dim=1)
