"""Class-averaged integrated-gradient maps for MNIST (method.md §8 Fig. 3 `mnist_ig`, §6.2).

Per digit class: IG of the true class with a U(−1,1) baseline (50 steps) averaged over that class's
test images, then min–max normalised to [0, 1] per class.
"""

from __future__ import annotations

import torch
from torch import nn

from cftrain.attribution import integrated_gradients, random_baseline


def class_ig_maps(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int, *, per_class: int = 200, steps: int = 50, seed: int = 0
) -> torch.Tensor:
    """(n_classes, d) normalised mean attributions over up to `per_class` test samples per class."""
    gen = torch.Generator().manual_seed(int(seed))
    maps = []
    for c in range(n_classes):
        xc = x[y == c][:per_class]
        baseline = random_baseline(tuple(xc.shape), gen)
        g = integrated_gradients(model, xc, torch.full((len(xc),), c), baseline, steps=steps).mean(dim=0)
        span = g.max() - g.min()
        maps.append((g - g.min()) / span if span > 0 else torch.zeros_like(g))
    return torch.stack(maps)
