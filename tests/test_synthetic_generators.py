"""The synthetic generators are MLJBase's, not scikit-learn's (method.md §4, §10.16), and the domain
box is fitted on the train pool (method.md §10.4).

Distributions are pinned over a large seeded draw: class balance, class-conditional means and spreads,
noise-free ranges, and the features that tell MLJBase's shapes from scikit-learn's (second moon at
0.3 − sin θ, inner circle = class 0, random angles per sample, the original's blob centres).
"""

from __future__ import annotations

import numpy as np
import pytest

from cftrain.constraints import infer_domain
from cftrain.datasets import prepare_dataset
from cftrain.datasets.synthetic import (
    GENERATORS,
    ORIGINAL_BLOB_CENTRES,
    make_blobs,
    make_circles,
    make_moons,
)

N = 100_000
TWO_OVER_PI = 2 / np.pi  # E[sin θ] for θ ~ U[0, π]


def _draw(name: str, seed: int = 0, n: int = N):
    x, y = GENERATORS[name](n, np.random.default_rng(seed))
    return x.astype(np.float64), y


def _angle_gap_cv(theta: np.ndarray) -> float:
    """Coefficient of variation of the gaps between sorted angles: ≈1 for uniform random angles,
    0 for scikit-learn's evenly spaced ones."""
    gaps = np.diff(np.sort(theta))
    return float(gaps.std() / gaps.mean())


def test_moons_are_mljbase_moons():
    x, y = _draw("moons")
    assert np.bincount(y).tolist() == [N // 2, N // 2]
    se = 0.72 / np.sqrt(N // 2)  # largest per-coordinate sd / sqrt(class size)
    # class 0 at (cos θ, sin θ), class 1 at (1 + cos θ, 0.3 − sin θ)
    assert np.allclose(x[y == 0].mean(0), [0.0, TWO_OVER_PI], atol=5 * se)
    assert np.allclose(x[y == 1].mean(0), [1.0, 0.3 - TWO_OVER_PI], atol=5 * se)
    # scikit-learn's second moon sits at 0.5 − sin θ: its class-1 mean of x2 would be 0.2 higher
    assert abs(x[y == 1, 1].mean() - (0.5 - TWO_OVER_PI)) > 0.15
    # sd of cos θ is sqrt(1/2), of sin θ sqrt(1/2 − 4/π²); noise sd 0.1 on both coordinates
    sd = np.sqrt([0.5 + 0.01, 0.5 - 4 / np.pi**2 + 0.01])
    for c in (0, 1):
        assert np.allclose(x[y == c].std(0), sd, rtol=0.02)


def test_moons_noise_free_shape_random_angles_and_noise_on_both_axes():
    clean, y = make_moons(N, np.random.default_rng(3), noise=0.0)
    noisy, y2 = make_moons(N, np.random.default_rng(3), noise=0.1)
    assert np.array_equal(y, y2)
    c0, c1 = clean[y == 0], clean[y == 1]
    assert np.allclose(np.hypot(c0[:, 0], c0[:, 1]), 1, atol=1e-6)
    assert np.allclose(np.hypot(c1[:, 0] - 1.0, c1[:, 1] - 0.3), 1, atol=1e-6)
    assert c0[:, 1].min() >= 0 and c0[:, 0].min() >= -1 and c0[:, 0].max() <= 1
    assert c1[:, 1].max() <= 0.3 + 1e-6 and c1[:, 1].min() >= -0.7 - 1e-6
    assert c1[:, 0].min() >= 0 - 1e-6 and c1[:, 0].max() <= 2 + 1e-6
    assert _angle_gap_cv(np.arctan2(c0[:, 1], c0[:, 0])) > 0.9  # per-sample θ, not linspace
    # the same θ draw, then N(0, 0.1²) on both coordinates
    residual = (noisy - clean).astype(np.float64)
    assert np.allclose(residual.std(0), 0.1, rtol=0.02)
    assert np.allclose(residual.mean(0), 0, atol=0.002)


def test_moons_row_layout_as_mljbase():
    """MLJ labels the first n ÷ 2 rows 0 and flips/shifts rows after n − n ÷ 2 (odd n: the middle
    row is class 1 on the upper moon)."""
    x, y = make_moons(5, np.random.default_rng(0), noise=0.0)
    assert y.tolist() == [0, 0, 1, 1, 1]
    assert (x[:3, 1] >= 0).all() and (x[:3, 0] <= 1).all()
    assert (x[3:, 1] <= 0.3).all() and (x[3:, 0] >= 0).all()


def test_circles_are_mljbase_circles():
    x, y = _draw("circles")
    assert np.bincount(y).tolist() == [N // 2, N // 2]
    radius = np.hypot(x[:, 0], x[:, 1])
    # class 0 = the inner circle (radius 0.01): a blob of N(0, 0.15²) noise, Rayleigh median
    # 0.15·sqrt(2 ln 2) ≈ 0.177; class 1 = the unit circle
    assert abs(np.median(radius[y == 0]) - 0.15 * np.sqrt(2 * np.log(2))) < 0.005
    assert abs(np.median(radius[y == 1]) - 1.0) < 0.02
    assert np.allclose(x[y == 0].mean(0), 0, atol=0.005)
    assert np.allclose(x[y == 1].mean(0), 0, atol=0.02)
    assert np.allclose(x[y == 0].std(0), np.sqrt(0.15**2 + 0.01**2 / 2), rtol=0.02)
    assert np.allclose(x[y == 1].std(0), np.sqrt(0.5 + 0.15**2), rtol=0.02)
    assert np.abs(x[y == 0]).max() < 0.01 + 6 * 0.15 and np.abs(x[y == 1]).max() < 1 + 6 * 0.15


def test_circles_noise_free_radii_and_random_angles():
    x, y = make_circles(N, np.random.default_rng(4), noise=0.0)
    assert y[: N // 2].tolist() == [0] * (N // 2) and (y[N // 2 :] == 1).all()
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(radius[y == 0], 0.01, atol=1e-6) and np.allclose(
        radius[y == 1], 1, atol=1e-6
    )
    assert _angle_gap_cv(np.arctan2(x[y == 1, 1], x[y == 1, 0])) > 0.9


def test_original_blob_centres_are_named_constants():
    # method.md §10.16: 20·rand(Xoshiro(42), 2, 2) − 10, rows = centres (Julia label 1 → class 0)
    assert ORIGINAL_BLOB_CENTRES.tolist() == [
        [2.586902462852178, -0.4518571313436439],
        [-0.9932211880761272, 4.062596980064029],
    ]
    for name in ("lin_sep", "over"):
        assert GENERATORS[name].keywords["centers"] is ORIGINAL_BLOB_CENTRES


@pytest.mark.parametrize("name,sd", [("lin_sep", 0.5), ("over", 2.0)])
def test_blobs_use_the_original_centres_for_every_seed(name, sd):
    for seed in (0, 1):
        x, y = _draw(name, seed)
        assert np.bincount(y).tolist() == [N // 2, N // 2]
        for c in (0, 1):
            assert np.allclose(
                x[y == c].mean(0), ORIGINAL_BLOB_CENTRES[c], atol=5 * sd / np.sqrt(N // 2)
            )
            assert np.allclose(x[y == c].std(0), sd, rtol=0.02)
    # diagonal separation: class 1 lies up and to the left of class 0 (Fig. 1)
    assert np.allclose(
        ORIGINAL_BLOB_CENTRES[1] - ORIGINAL_BLOB_CENTRES[0], [-3.58, 4.51], atol=0.01
    )


def test_blob_rows_and_mljbase_boundary_row():
    """MLJ's row ranges nss[c]:nss[c+1] share the boundary row: the last class-0 row is scaled and
    shifted by both centres; the remainder of n ÷ k goes to the last class."""
    sd, n = 0.5, 1001
    x, y = make_blobs(n, np.random.default_rng(9), centers=ORIGINAL_BLOB_CENTRES, cluster_std=sd)
    z = np.random.default_rng(9).normal(size=(n, 2))
    assert np.bincount(y).tolist() == [500, 501] and (y[:500] == 0).all()
    expected = z * sd + ORIGINAL_BLOB_CENTRES[y]
    expected[499] = (z[499] * sd + ORIGINAL_BLOB_CENTRES[0]) * sd + ORIGINAL_BLOB_CENTRES[1]
    assert np.allclose(x, expected, atol=1e-5)


def test_gaussm_draws_its_centres_from_the_seed():
    a, ya = _draw("gaussm", 0, 20_000)
    b, _ = _draw("gaussm", 1, 20_000)
    assert a.shape == (20_000, 10) and np.bincount(ya).tolist() == [10_000, 10_000]
    centres = np.stack([a[ya == c].mean(0) for c in (0, 1)])
    assert (np.abs(centres) < 10 + 0.05).all()
    assert np.allclose(a[ya == 0].std(0), 0.5, rtol=0.05)
    assert not np.allclose(a[:, 0].mean(), b[:, 0].mean(), atol=0.5)


def test_prepared_synthetic_sets_use_these_generators_unstandardised():
    moons = prepare_dataset("moons", seed=42)
    x = np.r_[moons.X_train, moons.X_val].astype(np.float64)
    y = np.r_[moons.y_train, moons.y_val]
    assert abs(x[y == 1, 1].mean() - (0.3 - TWO_OVER_PI)) < 0.03
    circles = prepare_dataset("circles", seed=42)
    assert np.median(np.hypot(*circles.X_train[circles.y_train == 0].T)) < 0.25
    lin_sep = prepare_dataset("lin_sep", seed=42)
    for c in (0, 1):  # raw coordinates: the class means are the centres, not standardised
        mean = lin_sep.X_train[lin_sep.y_train == c].mean(0)
        assert np.allclose(mean, ORIGINAL_BLOB_CENTRES[c], atol=0.05)
    assert "ORIGINAL_BLOB_CENTRES" in lin_sep.provenance["source"]["generator"]


@pytest.mark.parametrize("name", ["lin_sep", "over", "circles", "moons", "gaussm"])
def test_domain_box_fitted_on_the_train_pool(name):
    """apply_inferred_domain! infers the box from get_data(d)[1] = training + validation rows."""
    ds = prepare_dataset(name, seed=42)
    pool = np.r_[ds.X_train, ds.X_val]
    lower, upper = infer_domain(pool, 2.0)
    assert np.array_equal(ds.lower, lower) and np.array_equal(ds.upper, upper)
    assert ds.provenance["domain"] == {"box": "inferred", "fit_on": "train_pool", "rows": 3600,
                                       "n_std": 2.0}  # fmt: skip
    train_only = infer_domain(ds.X_train, 2.0)
    assert not (np.array_equal(ds.lower, train_only[0]) and np.array_equal(ds.upper, train_only[1]))


def test_fit_on_train_is_the_training_split_only():
    ds = prepare_dataset("over", seed=42, fit_on="train")
    lower, upper = infer_domain(ds.X_train, 2.0)
    assert np.array_equal(ds.lower, lower) and np.array_equal(ds.upper, upper)
    assert ds.provenance["domain"]["fit_on"] == "train" and ds.provenance["domain"]["rows"] == 3000
    with pytest.raises(ValueError, match="fit_on"):
        prepare_dataset("over", seed=42, fit_on="test")


def test_config_switch_reaches_prepare_dataset():
    from pathlib import Path

    from cftrain.config import load_config
    from cftrain.datasets.sources import data_params

    config = load_config(Path(__file__).resolve().parents[1] / "config" / "config.yaml")
    assert "fit_on" not in config["data"]  # unset = prepare_dataset's default, the train pool
    assert "fit_on" not in data_params(config, "over")
    config["data"]["fit_on"] = "train"
    params = {**data_params(config, "over"), "n_train": 200, "n_val": 50}
    assert prepare_dataset("over", **params).provenance["domain"]["fit_on"] == "train"
