"""Synthetic datasets of method.md §4, drawn from a seeded numpy Generator (no global RNG).

The generators re-implement MLJBase's `make_blobs`, `make_circles` and `make_moons` (MLJBase 0.21.14,
`src/data/datasets_synthetic.jl`, the version the original's Manifest pins) row for row: which rows
get which label and shape, per-sample random angles, Gaussian noise on both coordinates. Only the
random stream differs (numpy's instead of Julia's Xoshiro(42)). Labels are 0-based (MLJ's blob label
1 → 0; moons and circles are already 0/1).

`lin_sep` and `over` use the original's two blob centres as named values (`ORIGINAL_BLOB_CENTRES`,
method.md §10.16) instead of drawing them; `gaussm` (10-D, not in the paper) draws its two centres
uniformly in [-10, 10]^10 from the seeded numpy Generator, as MLJ does with Julia's stream.

Split pipeline of `get_data`: draw a pool of 100,000 points, shuffle it, take the first n_train+n_val
as the train pool and the last n_test as the test set, with n_test = round((n_train+n_val)/0.8) −
(n_train+n_val) (900 for the paper's 3000+600); then a stratified train/validation split. (MLJ
shuffles inside `make_*` and `get_data` shuffles again; one uniform permutation is the same thing.)
"""

from __future__ import annotations

from functools import partial

import numpy as np

N_GENERATED = 100_000

# Centres MLJBase's make_blobs drew for the original's lin_sep and over: `20·rand(Xoshiro(42), 2, 2) − 10`
# (rows = centres), computed with a re-implementation of Julia 1.11's Xoshiro that reproduces Julia's
# own doctest vectors (method.md §10.16). Row 0 = class 0 (Julia label 1), row 1 = class 1.
ORIGINAL_BLOB_CENTRES = np.array(
    [[2.586902462852178, -0.4518571313436439], [-0.9932211880761272, 4.062596980064029]]
)


def _blob_sizes(n: int, k: int) -> np.ndarray:
    """MLJ `make_blobs`: n ÷ k points per centre, the remainder to the last centre."""
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[-1] += n % k
    return sizes


def make_blobs(
    n: int,
    rng: np.random.Generator,
    n_features: int = 2,
    centers: int | np.ndarray = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs as MLJBase's `make_blobs` (unshuffled; labels 0..k-1 in row blocks).

    `centers`: a (k, n_features) array of given centres, or a count k of centres drawn uniformly in
    `center_box`^n_features. MLJ scales and shifts the row ranges `nss[c]:nss[c+1]` (1-based,
    `nss = [1, cumsum(sizes)...]`), which share their boundary row: the last row of each block but the
    final one is transformed again by the next centre — kept, as the original ran it (one point in
    50,000 for two centres).
    """
    if isinstance(centers, int | np.integer):
        centres = rng.uniform(*center_box, size=(int(centers), n_features))
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[1] != n_features:
            raise ValueError(f"centers must have shape (k, {n_features}), got {centres.shape}")
    k = len(centres)
    sizes = _blob_sizes(n, k)
    y = np.repeat(np.arange(k, dtype=np.int64), sizes)
    x = rng.normal(size=(n, n_features))
    ends = np.cumsum(sizes)
    for c in range(k):
        start = 0 if c == 0 else ends[c - 1] - 1  # MLJ's ranges overlap by one row
        x[start : ends[c]] = x[start : ends[c]] * cluster_std + centres[c]
    return x.astype(np.float32), y


def make_circles(
    n: int, rng: np.random.Generator, noise: float = 0.15, factor: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """MLJBase `make_circles`: θ ~ U[0, 2π) per sample; the first n ÷ 2 rows form the inner circle
    (radius `factor`), class 0, the rest the unit circle, class 1; noise N(0, noise²) on both axes."""
    theta = rng.uniform(0.0, 2 * np.pi, size=n)
    x = np.c_[np.cos(theta), np.sin(theta)]
    n_inner = n // 2
    x[:n_inner] *= factor
    y = np.ones(n, dtype=np.int64)
    y[:n_inner] = 0
    x = x + noise * rng.normal(size=(n, 2))
    return x.astype(np.float32), y


def make_moons(
    n: int,
    rng: np.random.Generator,
    noise: float = 0.1,
    xshift: float = 1.0,
    yshift: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """MLJBase `make_moons`: θ ~ U[0, π) per sample; class 0 at (cos θ, sin θ), class 1 at
    (xshift + cos θ, yshift − sin θ); noise N(0, noise²) on both axes.

    Not scikit-learn's moons (second moon at 1 − cos θ, 0.5 − sin θ, evenly spaced θ). MLJ labels the
    first n1 = n ÷ 2 rows 0 but flips and shifts only rows after n2 = n − n1; for odd n the middle
    row is class 1 on the class-0 moon — kept, as MLJ does (n = 100,000 is even).
    """
    n1 = n // 2
    n2 = n - n1
    theta = rng.uniform(0.0, np.pi, size=n)
    theta[n2:] *= -1
    x = np.c_[np.cos(theta), np.sin(theta)]
    x[n2:] += (xshift, yshift)
    y = np.ones(n, dtype=np.int64)
    y[:n1] = 0
    x = x + noise * rng.normal(size=(n, 2))
    return x.astype(np.float32), y


# §4 generator parameters per dataset key.
GENERATORS = {
    "lin_sep": partial(make_blobs, n_features=2, centers=ORIGINAL_BLOB_CENTRES, cluster_std=0.5),
    "over": partial(make_blobs, n_features=2, centers=ORIGINAL_BLOB_CENTRES, cluster_std=2.0),
    "circles": partial(make_circles, noise=0.15, factor=0.01),
    "moons": partial(make_moons, noise=0.1, xshift=1.0, yshift=0.3),
    "gaussm": partial(make_blobs, n_features=10, centers=2, cluster_std=0.5),
}
_CENTRES = "centres=ORIGINAL_BLOB_CENTRES (method.md §10.16)"
GENERATOR_PARAMS = {
    "lin_sep": f"MLJBase make_blobs(n_features=2, {_CENTRES}, cluster_std=0.5)",
    "over": f"MLJBase make_blobs(n_features=2, {_CENTRES}, cluster_std=2.0)",
    "circles": "MLJBase make_circles(noise=0.15, factor=0.01)",
    "moons": "MLJBase make_moons(noise=0.1, xshift=1.0, yshift=0.3)",
    "gaussm": "MLJBase make_blobs(n_features=10, centers=2 drawn by numpy in [-10, 10]^10, "
    "cluster_std=0.5)",
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
