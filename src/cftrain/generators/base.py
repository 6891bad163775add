"""The generator interface shared by all searches (method.md §3, "Common search")."""

from __future__ import annotations

import torch


class Generator:
    """A penalised gradient search: per-sample penalty added to the target cross-entropy.

    Subclasses implement `penalty(x_cf, factual, logits, target, step, max_iter) -> (n,)` in feature
    space; latent-space generators also set `latent = True` and implement `encode`/`decode`.
    """

    latent: bool = False
    name: str = "base"

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

    def params(self) -> dict:
        """Parameters stored with every counterfactual file."""
        return {}


def l1_distance(x_cf: torch.Tensor, factual: torch.Tensor) -> torch.Tensor:
    """`distance_l1`: ‖x′ − x‖₁ per sample, shape (n,)."""
    return (x_cf - factual).abs().sum(dim=1)
