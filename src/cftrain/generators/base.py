"""The generator interface shared by all searches (method.md §3, "Common search").

A generator is a dataclass: its fields are its parameters, their defaults are the generator's
defaults (the one place they live), and the config may set any of them by name
(`training.generator: {name: ecco, lambda_cost: 0.001}`). Class attributes describe it to the
rest of the workflow: `name` (config and objective-suffix name), `label` and `colour` (plots),
`needs_vae` (the workflow trains a VAE for it), `latent` (the search runs in latent space).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch


class Generator:
    """A penalised gradient search: per-sample penalty added to the target cross-entropy.

    Subclasses implement `penalty(x_cf, factual, logits, target, step, max_iter) -> (n,)` in feature
    space; latent-space generators also set `latent = True` and implement `encode`/`decode`.
    Fields marked `metadata={"config": False}` (REVISE's `vae`) are objects the job passes in,
    not config parameters.
    """

    name: ClassVar[str] = "base"
    label: ClassVar[str] = "base"
    colour: ClassVar[str | None] = None
    latent: ClassVar[bool] = False
    needs_vae: ClassVar[bool] = False

    def penalty(
        self,
        x_cf: torch.Tensor,
        factual: torch.Tensor,
        logits: torch.Tensor,
        target: torch.Tensor,
        step: int,
        max_iter: int,
    ) -> torch.Tensor:
        raise NotImplementedError

    def l1_weight(self) -> float:
        """λ of a λ·‖x′ − x‖₁ term of `penalty` that a feature-space search may differentiate in
        closed form; 0.0 (the default) when there is none.

        Performance only: a generator returning λ > 0 also accepts `penalty(..., l1=False)` — its
        penalty without that term — and the search adds the term's gradient λ·sgn(x′ − x)
        itself, the exact values autograd gives for it (method.md §3), without building the
        term's graph at every step. The search's result is then bit-identical when the rest of
        the penalty reaches x′ only through the logits (ECCo, Generic: tested); a rest that also
        reads x′ directly is summed in another order (equal up to float round-off). Latent-space
        searches ignore it (their ℓ1 term acts on the decoded point).
        """
        return 0.0

    @classmethod
    def parameters(cls) -> dict[str, dataclasses.Field]:
        """The config parameters {name: field} (dataclass fields without `config: False`)."""
        return {
            f.name: f for f in dataclasses.fields(cls) if f.metadata.get("config", True) and f.init
        }

    @classmethod
    def defaults(cls) -> dict:
        """{parameter: default} of the config parameters."""
        return {name: f.default for name, f in cls.parameters().items()}

    def params(self) -> dict:
        """Parameters stored with every counterfactual file (HDF5 attributes)."""
        return {name: getattr(self, name) for name in self.parameters()}


def l1_distance(x_cf: torch.Tensor, factual: torch.Tensor) -> torch.Tensor:
    """`distance_l1`: ‖x′ − x‖₁ per sample, shape (n,)."""
    return (x_cf - factual).abs().sum(dim=1)
