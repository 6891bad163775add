"""Synthetic datasets of method.md §4, drawn from a seeded numpy Generator (no global RNG).

Generators follow MLJ/scikit-learn (`make_blobs`, `make_circles`, `make_moons`); labels are 0-based.
Split pipeline of `get_data`: draw a pool of 100,000 points, shuffle it, take the first n_train+n_val
as the train pool and the last n_test as the test set, with n_test = round((n_train+n_val)/0.8) −
(n_train+n_val) (900 for the paper's 3000+600); then a stratified train/validation split.
"""

from __future__ import annotations

from functools import partial

import numpy as np

N_GENERATED = 100_000


def _class_sizes(n: int, k: int) -> np.ndarray:
    """n points over k classes as evenly as possible, remainder to the first classes."""
    return np.array([n // k + (i < n % k) for i in range(k)], dtype=np.int64)


def make_blobs(
    n: int,
    rng: np.random.Generator,
    n_features: int = 2,
    centers: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, centres uniform in `center_box`^n_features (MLJ `make_blobs`)."""
    centres = rng.uniform(*center_box, size=(centers, n_features))
    y = np.repeat(np.arange(centers, dtype=np.int64), _class_sizes(n, centers))
    x = centres[y] + rng.normal(scale=cluster_std, size=(n, n_features))
    return x.astype(np.float32), y


def make_circles(
    n: int, rng: np.random.Generator, noise: float = 0.15, factor: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Outer unit circle (label 0) around an inner circle of radius `factor` (label 1)."""
    n_out = n // 2
    n_in = n - n_out
    outer = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    inner = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.concatenate(
        [np.c_[np.cos(outer), np.sin(outer)], factor * np.c_[np.cos(inner), np.sin(inner)]]
    )
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    x = x + rng.normal(scale=noise, size=x.shape)
    return x.astype(np.float32), y


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


# §4 generator parameters per dataset key.
GENERATORS = {
    "lin_sep": partial(make_blobs, n_features=2, centers=2, cluster_std=0.5),
    "over": partial(make_blobs, n_features=2, centers=2, cluster_std=2.0),
    "circles": partial(make_circles, noise=0.15, factor=0.01),
    "moons": partial(make_moons, noise=0.1),
    "gaussm": partial(make_blobs, n_features=10, centers=2, cluster_std=0.5),
}
GENERATOR_PARAMS = {
    "lin_sep": "make_blobs(n_features=2, centers=2, cluster_std=0.5, center_box=(-10, 10))",
    "over": "make_blobs(n_features=2, centers=2, cluster_std=2.0, center_box=(-10, 10))",
    "circles": "make_circles(noise=0.15, factor=0.01)",
    "moons": "make_moons(noise=0.1)",
    "gaussm": "make_blobs(n_features=10, centers=2, cluster_std=0.5, center_box=(-10, 10))",
}
DEFAULT_SIZES = {"n_train": 3000, "n_val": 600}


def draw_synthetic(
    name: str, n_pool: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_pool, y_pool, x_test, y_test): first n_pool and last n_test of a shuffled 100,000 draw."""
    n_generated = max(N_GENERATED, n_pool + n_test)
    x, y = GENERATORS[name](n_generated, rng)
    order = rng.permutation(n_generated)
    pool, test = order[:n_pool], order[n_generated - n_test :]
    return x[pool], y[pool], x[test], y[test]
