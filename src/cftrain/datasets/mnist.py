"""MNIST of method.md §4 (CTExperiments `mnist.jl`, MLDatasets), pixels scaled to [-1, 1].

Training pool: 11,000 images drawn class-balanced *with replacement* (1,100 per class) from the
60,000 official training images, then a stratified split into 10,000 train + 1,000 validation;
test = the official 10,000 test images (or a stratified subsample of n_test).

Flattening: the paper flattens MLDatasets' W×H arrays column-major, so the width (x) index runs
fastest and pixel k (0-based) is image row k // 28, column k % 28. The npz holds images as
(row, column) arrays, for which numpy's default row-major `reshape(n, 784)` gives exactly that
order. Hence the protected "top 5 and bottom 5 pixel rows" (§4 indices 1–140 and 645–784, 1-based)
are the 0-based features 0..139 (rows 0–4) and 644..783 (rows 23–27). Domain box: [-1, 1] for every
pixel (method.md §2), not inferred.
"""

from __future__ import annotations

import numpy as np

from cftrain.datasets.raw import raw_path
from cftrain.datasets.splits import allocate, stratified_split, stratified_subsample

SIDE = 28
N_PROTECTED_ROWS = 5
DEFAULT_SIZES = {"n_train": 10000, "n_val": 1000, "n_test": 10000}


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) → float32 (n, 784) in [-1, 1], row-major over (row, column)."""
    flat = images.reshape(len(images), SIDE * SIDE).astype(np.float32)
    return flat / np.float32(127.5) - np.float32(1.0)


def protected_pixels(n_rows: int = N_PROTECTED_ROWS) -> list[int]:
    """0-based feature indices of the top and bottom `n_rows` pixel rows."""
    rows = [*range(n_rows), *range(SIDE - n_rows, SIDE)]
    return [r * SIDE + c for r in rows for c in range(SIDE)]


def balanced_resample(
    y: np.ndarray, n: int, n_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """`n` indices, equal count per class (remainder to the lowest classes), drawn with replacement."""
    per_class = allocate(np.ones(n_classes, dtype=np.int64) * n, n)
    draws = [
        rng.choice(np.flatnonzero(y == c), size=int(k), replace=True)
        for c, k in enumerate(per_class)
    ]
    return rng.permutation(np.concatenate(draws))


def prepare_mnist(
    *,
    seed: int,
    data_dir=None,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
) -> dict:
    """Splits and metadata of MNIST (see module docstring)."""
    n_train = DEFAULT_SIZES["n_train"] if n_train is None else n_train
    n_val = DEFAULT_SIZES["n_val"] if n_val is None else n_val
    n_test = DEFAULT_SIZES["n_test"] if n_test is None else n_test
    path, source = raw_path("mnist", data_dir)
    with np.load(path) as z:
        train_images, train_labels = z["train_images"], z["train_labels"].astype(np.int64)
        test_images, test_labels = z["test_images"], z["test_labels"].astype(np.int64)
    if n_train < 1 or n_val < 0 or not 0 < n_test <= len(test_labels):
        raise ValueError(f"mnist: invalid sizes n_train={n_train}, n_val={n_val}, n_test={n_test}")
    rng = np.random.default_rng(seed)
    pool = balanced_resample(train_labels, n_train + n_val, 10, rng)
    train_pos, val_pos = stratified_split(train_labels[pool], n_val, rng)
    train_idx, val_idx = pool[train_pos], pool[val_pos]
    test_idx = stratified_subsample(test_labels, n_test, rng)
    names = [f"px_r{r:02d}_c{c:02d}" for r in range(SIDE) for c in range(SIDE)]
    return {
        "X_train": scale_pixels(train_images[train_idx]), "y_train": train_labels[train_idx],
        "X_val": scale_pixels(train_images[val_idx]), "y_val": train_labels[val_idx],
        "X_test": scale_pixels(test_images[test_idx]), "y_test": test_labels[test_idx],
        "feature_names": names,
        "protected": protected_pixels(),
        "categorical_groups": {},
        "domain": (np.full(SIDE * SIDE, -1.0, np.float32), np.full(SIDE * SIDE, 1.0, np.float32)),
        "provenance": {
            "source": source,
            "preprocessing": "pixels x/127.5-1 in [-1,1]; training pool drawn class-balanced with "
            "replacement; row-major flatten = column-major of MLDatasets W×H",
            "protected": "top and bottom 5 pixel rows (0-based 0..139, 644..783)",
            "domain": "fixed [-1, 1] per pixel (method.md §2)",
        },
    }  # fmt: skip
