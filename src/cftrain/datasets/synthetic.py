"""Synthetic datasets of method.md §4, drawn from a seeded numpy Generator."""

from __future__ import annotations

import numpy as np


def make_moons(
    n: int, rng: np.random.Generator, noise: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (sklearn/MLJ `make_moons`), Gaussian noise of sd `noise`."""
    n_out = n // 2
    n_in = n - n_out
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    x = np.concatenate(
        [np.c_[np.cos(outer), np.sin(outer)], np.c_[1 - np.cos(inner), 1 - np.sin(inner) - 0.5]]
    )
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    x = x + rng.normal(scale=noise, size=x.shape)
    return x.astype(np.float32), y


GENERATORS = {"moons": make_moons}
