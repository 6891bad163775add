"""Dataset registry and the common split pipeline of method.md §4 (`get_data`)."""

from __future__ import annotations

import numpy as np

from cftrain.constraints import infer_domain, mutability_vector
from cftrain.datasets import synthetic
from cftrain.datasets.container import DatasetSplits

# Protected (immutable) features of §4, 0-based.
PROTECTED = {"moons": [0]}
DATASETS = sorted(synthetic.GENERATORS)


def stratified_split(
    y: np.ndarray, n_val: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with the class ratio kept in validation (CE.jl `keep_class_ratio=true`)."""
    val = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        take = int(round(n_val * len(idx) / len(y)))
        val.append(rng.permutation(idx)[:take])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def prepare_dataset(
    name: str, *, seed: int, n_train: int = 3000, n_val: int = 600, domain_n_std: float = 2.0
) -> DatasetSplits:
    """Generate and split a dataset: train pool = first n_train+n_val, test = the rest of round(pool/0.8)."""
    if name not in synthetic.GENERATORS:
        raise ValueError(f"unknown dataset {name!r}: use one of {DATASETS}")
    rng = np.random.default_rng(seed)
    n_pool = n_train + n_val
    n_total = int(round(n_pool / 0.8))
    x, y = synthetic.GENERATORS[name](n_total, rng)
    order = rng.permutation(n_total)
    x, y = x[order], y[order]
    x_pool, y_pool, x_test, y_test = x[:n_pool], y[:n_pool], x[n_pool:], y[n_pool:]
    train_idx, val_idx = stratified_split(y_pool, n_val, rng)
    x_train = x_pool[train_idx]
    lower, upper = infer_domain(x_train, domain_n_std)
    protected = PROTECTED.get(name, [])
    return DatasetSplits(
        name=name,
        X_train=x_train, y_train=y_pool[train_idx],
        X_val=x_pool[val_idx], y_val=y_pool[val_idx],
        X_test=x_test, y_test=y_test,
        feature_names=[f"x{i + 1}" for i in range(x.shape[1])],
        protected=protected,
        mutability=mutability_vector(x.shape[1], protected),
        lower=lower, upper=upper,
        n_classes=int(y.max()) + 1,
        seed=seed,
        provenance={"generator": name, "n_train": n_train, "n_val": n_val, "domain_n_std": domain_n_std},
    )  # fmt: skip
