"""Seeded, exact-size stratified splits shared by all dataset families (method.md §4 `get_data`).

CE.jl's `train_test_split(...; keep_class_ratio=true)` keeps the class ratio of the pool in the
validation split. Here the per-class counts are allocated by largest remainder so that the total is
exactly the requested size (CE.jl rounds per class, which can be off by one).
"""

from __future__ import annotations

import numpy as np


def allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes proportionally to `counts` (largest remainder, ties → lower class)."""
    counts = np.asarray(counts, dtype=np.int64)
    if not 0 <= total <= counts.sum():
        raise ValueError(f"cannot draw {total} from {int(counts.sum())} rows")
    quota = counts * total / counts.sum()
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: total - take.sum()]] += 1
    return np.minimum(take, counts)


def stratified_split(
    y: np.ndarray, n_val: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val), each sorted, with exactly `n_val` validation rows in the pool's class ratio."""
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    val = [
        rng.choice(np.flatnonzero(y == label), size=int(k), replace=False)
        for label, k in zip(labels, allocate(counts, n_val), strict=True)
    ]
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def stratified_subsample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `n` rows in the class ratio of `y` (all rows, in order, if n == len(y))."""
    if n == len(y):
        return np.arange(len(y))
    return stratified_split(y, n, rng)[1]


def pool_size(n_rows: int, fraction: float = 0.8) -> int:
    """Rows in the train pool: round(0.8·N), halves rounded up (TaijaData's 80/20 split)."""
    return int(np.floor(fraction * n_rows + 0.5))
