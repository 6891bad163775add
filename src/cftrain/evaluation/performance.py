"""Predictive performance of method.md §6.2: clean accuracy, macro-F1, FGSM/PGD robust accuracy."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from cftrain.attacks import robust_accuracy
from cftrain.metrics import accuracy, macro_f1


def model_performance(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    *,
    robustness: bool,
    eps_max: float = 0.1,
    eps_count: int = 10,
    pgd_steps: int = 40,
    pgd_alpha: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Tidy rows (attack, eps, accuracy, macro_f1): `none` at ε=0, then FGSM and PGD over
    linspace(0, eps_max, eps_count) when `robustness` (test set, true labels, no domain clamp)."""
    rows = [{"attack": "none", "eps": 0.0, "accuracy": accuracy(model, x, y), "macro_f1": macro_f1(model, x, y, n_classes)}]
    frames = [pd.DataFrame(rows)]
    if robustness:
        eps = torch.linspace(0.0, eps_max, eps_count)
        frames.append(robust_accuracy(model, x, y, eps, "fgsm"))
        gen = torch.Generator().manual_seed(int(seed))
        frames.append(robust_accuracy(model, x, y, eps, "pgd", generator=gen, steps=pgd_steps, alpha=pgd_alpha))
    return pd.concat(frames, ignore_index=True)
