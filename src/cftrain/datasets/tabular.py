"""Real tabular datasets of method.md §4: Adult, California housing (cali), Credit default, GMSC.

Pipeline (TaijaData CSVs + CTExperiments `get_data`):
1. clean/label per dataset (Adult: the adult.data part, '?' kept as a category because the paper's
   32,561 rows include them; cali: label = MedHouseVal ≥ median; credit: label flipped so 1 = no
   default; gmsc: rows with NA dropped, label flipped so 1 = no delinquency);
2. cali/credit/gmsc: balance by undersampling the majority class, then shuffle (both seeded);
   Adult stays unbalanced in file order;
3. train pool = first round(0.8·N) rows, test = the rest;
4. seeded stratified subsample to n_train+n_val (only if smaller than the pool) and n_test, then a
   stratified train/validation split of exactly n_val rows;
5. encode: one-hot of the categoricals in place (levels from all cleaned rows, so D never depends on
   the seed or the sizes; one-hot columns stay 0/1) and z-score of the numeric columns with mean and
   sd (ddof=1) (MLJ Standardizer ∘ ContinuousEncoder), fitted by default on the whole train pool —
   TaijaData v1.1.7 `pre_process` fits its Standardizer on `df_train`, the first round(0.8·N) rows,
   before any subsampling (method.md §10.4) — or, with `fit_on="train"`, on the training split only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cftrain.datasets.raw import raw_path
from cftrain.datasets.splits import pool_size, stratified_split, stratified_subsample

ADULT_DATA_START = 16281  # rows 0..16280 of adult.csv.gz are the official adult.test
CREDIT_NAMES = {
    "X1": "LIMIT_BAL", "X2": "SEX", "X3": "EDUCATION", "X4": "MARRIAGE", "X5": "AGE",
    "X6": "PAY_0", "X7": "PAY_2", "X8": "PAY_3", "X9": "PAY_4", "X10": "PAY_5", "X11": "PAY_6",
    **{f"X{11 + i}": f"BILL_AMT{i}" for i in range(1, 7)},
    **{f"X{17 + i}": f"PAY_AMT{i}" for i in range(1, 7)},
}  # fmt: skip


def _adult(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    data = raw.iloc[ADULT_DATA_START:].reset_index(drop=True)
    return data.drop(columns="income"), (data["income"] == ">50K").to_numpy(np.int64)


def _cali(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    target = raw["MedHouseVal"]
    return raw.drop(columns="MedHouseVal"), (target >= target.median()).to_numpy(np.int64)


def _credit(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    features = raw.drop(columns=["ID", "Y"]).rename(columns=CREDIT_NAMES)
    return features, 1 - raw["Y"].to_numpy(np.int64)


def _gmsc(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    data = raw.dropna().reset_index(drop=True)
    return data.drop(columns=["id", "SeriousDlqin2yrs"]), 1 - data["SeriousDlqin2yrs"].to_numpy(
        np.int64
    )


@dataclass(frozen=True)
class TabularSpec:
    """How one tabular dataset is cleaned, and its §4 sizes and protected feature."""

    load: Callable[[pd.DataFrame], tuple[pd.DataFrame, np.ndarray]]
    categorical: tuple[str, ...]
    balance: bool
    protected: str  # feature name; its 0-based index is checked against PROTECTED_INDEX
    protected_index: int  # §4 table, 1-based there
    n_train: int
    n_val: int
    n_test: int
    description: str


SPECS: dict[str, TabularSpec] = {
    "adult": TabularSpec(
        _adult,
        (
            "workclass",
            "education",
            "marital-status",
            "occupation",
            "relationship",
            "race",
            "gender",
            "native-country",
        ),
        balance=False,
        protected="age",
        protected_index=0,
        n_train=25049,
        n_val=1000,
        n_test=6512,
        description="adult.data part, label income >50K, unbalanced",
    ),  # fmt: skip
    "cali": TabularSpec(
        _cali,
        (),
        balance=True,
        protected="HouseAge",
        protected_index=1,
        n_train=15504,
        n_val=1000,
        n_test=4126,
        description="label MedHouseVal >= median, balanced by undersampling",
    ),  # fmt: skip
    "credit": TabularSpec(
        _credit,
        ("SEX", "EDUCATION", "MARRIAGE"),
        balance=True,
        protected="AGE",
        protected_index=14,
        n_train=9617,
        n_val=1000,
        n_test=2654,
        description="label 1 = no default next month, balanced by undersampling",
    ),  # fmt: skip
    "gmsc": TabularSpec(
        _gmsc,
        (),
        balance=True,
        protected="age",
        protected_index=1,
        n_train=12371,
        n_val=1000,
        n_test=3343,
        description="NA rows dropped, label 1 = no serious delinquency, balanced by undersampling",
    ),  # fmt: skip
}


def balance_by_undersampling(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffled row indices with every class cut (uniformly, seeded) to the minority class size."""
    labels, counts = np.unique(y, return_counts=True)
    keep = [rng.choice(np.flatnonzero(y == c), size=counts.min(), replace=False) for c in labels]
    return rng.permutation(np.concatenate(keep))


def one_hot_encode(
    features: pd.DataFrame, categorical: tuple[str, ...], levels: dict[str, list]
) -> tuple[np.ndarray, list[str], dict[str, list[int]], list[int]]:
    """(X float64, names, {categorical: its column indices}, numeric column indices), columns in place."""
    blocks, names, groups, numeric = [], [], {}, []
    for col in features.columns:
        start = len(names)
        if col in categorical:
            values = features[col].to_numpy()
            blocks.append(np.stack([values == level for level in levels[col]], axis=1))
            names += [f"{col}={level}" for level in levels[col]]
            groups[col] = list(range(start, len(names)))
        else:
            blocks.append(features[col].to_numpy(np.float64)[:, None])
            names.append(col)
            numeric.append(start)
    return np.hstack(blocks).astype(np.float64), names, groups, numeric


def fit_standardiser(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (ddof=1; constant columns get sd 1) of the rows the scaler is fitted on."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0, ddof=1) if len(x_train) > 1 else np.ones(x_train.shape[1])
    return mean, np.where(std > 0, std, 1.0)


def prepare_tabular(
    name: str,
    *,
    seed: int,
    data_dir=None,
    fit_on: str,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
) -> dict:
    """Splits and metadata of one tabular dataset (arrays float32/int64; see module docstring)."""
    spec = SPECS[name]
    path, source = raw_path(name, data_dir)
    features, y = spec.load(pd.read_csv(path))
    levels = {c: sorted(features[c].unique().tolist()) for c in spec.categorical}
    n_clean = len(y)
    rng = np.random.default_rng(seed)
    if spec.balance:
        order = balance_by_undersampling(y, rng)
        features, y = features.iloc[order].reset_index(drop=True), y[order]
    n_pool = pool_size(len(y))
    n_train = spec.n_train if n_train is None else n_train
    n_val = spec.n_val if n_val is None else n_val
    n_test = spec.n_test if n_test is None else n_test
    if n_train < 1 or n_val < 0 or n_train + n_val > n_pool or not 0 < n_test <= len(y) - n_pool:
        raise ValueError(
            f"{name}: sizes n_train={n_train}, n_val={n_val}, n_test={n_test} do not fit the "
            f"train pool of {n_pool} and test part of {len(y) - n_pool} rows"
        )
    pool = stratified_subsample(y[:n_pool], n_train + n_val, rng)
    train_idx, val_idx = (pool[i] for i in stratified_split(y[pool], n_val, rng))
    test_idx = n_pool + stratified_subsample(y[n_pool:], n_test, rng)

    x, names, groups, numeric = one_hot_encode(features, spec.categorical, levels)
    fit_rows = np.arange(n_pool) if fit_on == "train_pool" else train_idx
    mean, std = fit_standardiser(x[fit_rows][:, numeric])
    x[:, numeric] = (x[:, numeric] - mean) / std
    protected = names.index(spec.protected)
    if protected != spec.protected_index:
        raise AssertionError(
            f"{name}: {spec.protected} at index {protected}, §4 says {spec.protected_index}"
        )
    return {
        "X_train": x[train_idx].astype(np.float32), "y_train": y[train_idx],
        "X_val": x[val_idx].astype(np.float32), "y_val": y[val_idx],
        "X_test": x[test_idx].astype(np.float32), "y_test": y[test_idx],
        "X_pool": x[:n_pool].astype(np.float32),
        "feature_names": names,
        "protected": [protected],
        "categorical_groups": groups,
        "provenance": {
            "source": source,
            "preprocessing": spec.description,
            "rows": {"cleaned": n_clean, "balanced": len(y), "train_pool": n_pool,
                     "test_part": len(y) - n_pool},
            "scaler": {"fit_on": fit_on, "rows": len(fit_rows), "features": [names[i] for i in numeric],
                       "mean": mean.tolist(), "std": std.tolist()},
        },
    }  # fmt: skip
