"""REVISE (Joshi et al. 2019): ℓ1 penalty, search in a VAE's latent space, method.md §3.

The state is a latent z; x′ = dec(z). After every step the decoded point is clamped and re-encoded
with a fresh random draw z = μ + σ·ε (CE.jl `GenerativeModels.encode`). Mutability is not enforced
in latent space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from cftrain.generators import register
from cftrain.generators.base import Generator, l1_distance


@register
@dataclass
class REVISE(Generator):
    """Latent-space search with penalty λ_cost·‖dec(z) − x‖₁ (lambda_cost=0.001)."""

    name: ClassVar[str] = "revise"
    label: ClassVar[str] = "REVISE"
    colour: ClassVar[str] = "tab:brown"
    latent: ClassVar[bool] = True
    needs_vae: ClassVar[bool] = True

    vae: torch.nn.Module = field(default=None, metadata={"config": False})
    lambda_cost: float = 0.001

    def penalty(self, x_cf, factual, logits, target, step, max_iter) -> torch.Tensor:
        return self.lambda_cost * l1_distance(x_cf, factual)

    def encode(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self.vae.encode_sample(x, generator)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)

    def params(self) -> dict:
        return {**super().params(), "latent_dim": int(self.vae.latent_dim)}
