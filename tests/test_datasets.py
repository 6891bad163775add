"""Synthetic datasets, splits, registry and container (method.md §4)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cftrain.constraints import NONE
from cftrain.datasets import DATASETS, prepare_dataset, read_dataset, write_dataset
from cftrain.datasets.splits import allocate, pool_size, stratified_split, stratified_subsample
from cftrain.datasets.synthetic import make_blobs, make_circles, make_moons

SYNTHETIC = ["lin_sep", "over", "circles", "moons", "gaussm"]


def test_registry_has_the_ten_datasets():
    assert sorted(DATASETS) == sorted([*SYNTHETIC, "adult", "cali", "credit", "gmsc", "mnist"])


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_shapes_balance_and_metadata(name):
    ds = prepare_dataset(name, seed=42)
    d = 10 if name == "gaussm" else 2
    assert (
        ds.X_train.shape == (3000, d) and ds.X_val.shape == (600, d) and ds.X_test.shape == (900, d)
    )
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.n_classes == 2 and ds.n_features == d
    for y in (ds.y_train, ds.y_val, ds.y_test):
        share = np.bincount(y, minlength=2) / len(y)
        assert 0.43 < share[0] < 0.57
    # the stratified split keeps the pool's class ratio in validation (to one row)
    pool = np.r_[ds.y_train, ds.y_val]
    assert abs(ds.y_val.sum() - 600 * pool.mean()) <= 1
    assert ds.protected == [0] and ds.mutability[0] == NONE and (ds.mutability[1:] != NONE).all()
    assert ds.feature_names == [f"x{i + 1}" for i in range(d)]
    assert (ds.lower <= ds.X_train.min(0)).all() and (ds.upper >= ds.X_train.max(0)).all()
    assert ds.provenance["seed"] == 42 and ds.provenance["method"] == "method.md §4"


def test_generator_parameters():
    rng = np.random.default_rng(0)
    for std, dims in ((0.5, 2), (2.0, 2), (0.5, 10)):
        x, y = make_blobs(20000, rng, n_features=dims, centers=2, cluster_std=std)
        assert x.shape == (20000, dims) and np.bincount(y).tolist() == [10000, 10000]
        for c in (0, 1):
            centre = x[y == c].mean(0)
            assert np.all(np.abs(centre) < 10 + 0.1)
            assert np.allclose(x[y == c].std(0), std, rtol=0.05)
    x, y = make_circles(20000, rng)  # noise 0.15, factor 0.01; MLJBase: inner circle = class 0
    radius = np.linalg.norm(x, axis=1)
    assert abs(np.median(radius[y == 1]) - 1) < 0.03 and np.median(radius[y == 0]) < 0.25
    assert np.allclose(x[y == 0].std(0), 0.15, rtol=0.05)
    x, y = make_moons(20000, rng)  # noise 0.1
    assert np.bincount(y).tolist() == [10000, 10000]
    assert abs(x[y == 0, 1].max() - 1.0) < 0.5 and x[y == 1, 1].min() < -0.4


def test_no_global_rng_and_seed_dependence():
    state = np.random.get_state()[1].copy()
    a = prepare_dataset("moons", seed=1)
    b = prepare_dataset("moons", seed=2)
    c = prepare_dataset("moons", seed=1)
    assert np.array_equal(np.random.get_state()[1], state)
    assert not np.array_equal(a.X_train, b.X_train)
    assert np.array_equal(a.X_train, c.X_train) and np.array_equal(a.y_test, c.y_test)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_same_seed_gives_byte_identical_hdf5(name, tmp_path):
    write_dataset(prepare_dataset(name, seed=7), tmp_path / "a.h5")
    write_dataset(prepare_dataset(name, seed=7), tmp_path / "b.h5")
    write_dataset(prepare_dataset(name, seed=8), tmp_path / "c.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    assert (tmp_path / "a.h5").read_bytes() != (tmp_path / "c.h5").read_bytes()


def test_size_overrides_and_errors():
    ds = prepare_dataset("circles", seed=0, n_train=100, n_val=20, n_test=None)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (100, 20, 30)
    ds = prepare_dataset("circles", seed=0, n_train=100, n_val=20, n_test=55)
    assert len(ds.y_test) == 55 and ds.provenance["sizes"] == {
        "n_train": 100,
        "n_val": 20,
        "n_test": 55,
    }
    with pytest.raises(TypeError, match="unknown size keys"):
        prepare_dataset("circles", seed=0, n_tset=10)
    with pytest.raises(ValueError, match="unknown dataset"):
        prepare_dataset("nope", seed=0)


def test_domain_n_std():
    narrow = prepare_dataset("over", seed=0, domain_n_std=2.0)
    wide = prepare_dataset("over", seed=0, domain_n_std=3.0)
    assert (wide.lower <= narrow.lower).all() and (wide.upper >= narrow.upper).all()
    assert (wide.upper - wide.lower > narrow.upper - narrow.lower).any()
    assert wide.provenance["domain"] == {
        "box": "inferred",
        "fit_on": "train_pool",
        "rows": 3600,
        "n_std": 3.0,
    }


def test_allocate_and_stratified_split_are_exact():
    assert allocate(np.array([50, 30, 20]), 10).tolist() == [5, 3, 2]
    assert allocate(np.array([1, 1, 1]), 2).sum() == 2
    y = np.r_[np.zeros(67, int), np.ones(33, int)]
    rng = np.random.default_rng(0)
    train, val = stratified_split(y, 25, rng)
    assert len(val) == 25 and len(train) == 75 and not set(train) & set(val)
    assert np.bincount(y[val]).tolist() == [17, 8]
    sub = stratified_subsample(y, 10, rng)
    assert len(sub) == 10 and np.bincount(y[sub]).tolist() == [7, 3]
    assert stratified_subsample(y, 100, rng).tolist() == list(range(100))
    assert pool_size(32561) == 26049 and pool_size(13272) == 10618 and pool_size(16714) == 13371


def test_container_roundtrip_with_categorical_groups(tmp_path):
    ds = prepare_dataset("lin_sep", seed=3, n_train=50, n_val=10)
    ds.categorical_groups = {"colour": [0, 1]}
    write_dataset(ds, tmp_path / "d.h5")
    back = read_dataset(tmp_path / "d.h5")
    assert back.categorical_groups == {"colour": [0, 1]}
    assert back.provenance == ds.provenance and back.protected == [0]
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "lower", "upper"):
        assert np.array_equal(getattr(back, key), getattr(ds, key))
    # files written before the attribute existed still read (default: no groups)
    with h5py.File(tmp_path / "d.h5", "a") as f:
        del f.attrs["categorical_groups"]
    assert read_dataset(tmp_path / "d.h5").categorical_groups == {}
