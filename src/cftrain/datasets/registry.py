"""Registry of the ten datasets of method.md §4 and `prepare_dataset`, the single entry point.

`prepare_dataset(name, *, seed, data_dir=None, domain_n_std=2.0, fit_on="train_pool", **size_overrides)`
returns a `DatasetSplits` (float32 features, int64 labels 0..K-1) with the §4 protected features
(0-based), feature names, categorical one-hot groups, a domain box inferred with `domain_n_std` (code
default 2, paper appendix 3 — method.md §10 item 4; MNIST: fixed [-1, 1]) and provenance (seed,
sizes, raw file sha256, preprocessing). Same arguments → identical arrays, hence a byte-identical file
from `write_dataset`. Size overrides: n_train, n_val, n_test (None = §4 default).

`fit_on` chooses the rows the domain box and the tabular z-score are fitted on (method.md §10.4):
"train_pool" (default, as the original ran) = the rows of the original's `get_data(d)[1]`, from which
`apply_inferred_domain!` infers the box and on which TaijaData's `pre_process` fits its Standardizer:
synthetic — training + validation rows; tabular — the loader's whole train part (first round(0.8·N)
rows), which is training + validation at the §4 sizes (credit: one row more). "train" = the training
split only (this project's earlier choice; no validation rows in any fit).
"""

from __future__ import annotations

import numpy as np

from cftrain.constraints import infer_domain, mutability_vector
from cftrain.datasets import mnist, synthetic, tabular
from cftrain.datasets.container import DatasetSplits
from cftrain.datasets.raw import RAW_SOURCES
from cftrain.datasets.splits import stratified_split

SYNTHETIC = ("lin_sep", "over", "circles", "moons", "gaussm")
TABULAR = ("adult", "cali", "credit", "gmsc")
REAL = (*TABULAR, "mnist")
DATASETS = [*SYNTHETIC, *REAL]
# Display names in the paper's order (figures order datasets by this); gaussm is unreported (§10.6).
LABELS = {
    "lin_sep": "Lin. Sep.", "circles": "Circles", "moons": "Moons", "over": "Overlapping",
    "adult": "Adult", "cali": "California", "credit": "Credit", "gmsc": "GMSC", "mnist": "MNIST",
    "gaussm": "Gauss. Mix.",
}  # fmt: skip
SIZE_KEYS = ("n_train", "n_val", "n_test")
# Rows the domain box and the tabular z-score are fitted on (module docstring); the first is the default.
FIT_ON = ("train_pool", "train")

# §4 mutability table, 0-based. gaussm is not in the table (unreported, §10 item 6): first
# coordinate by analogy with the 2-D sets.
PROTECTED = {
    **{name: [0] for name in SYNTHETIC},
    **{name: [spec.protected_index] for name, spec in tabular.SPECS.items()},
    "mnist": mnist.protected_pixels(),
}

__all__ = [
    "DATASETS",
    "LABELS",
    "REAL",
    "SYNTHETIC",
    "PROTECTED",
    "RAW_SOURCES",
    "prepare_dataset",
    "stratified_split",
]


def _sizes(name: str, size_overrides: dict) -> dict:
    unknown = sorted(set(size_overrides) - set(SIZE_KEYS))
    if unknown:
        raise TypeError(f"prepare_dataset({name!r}): unknown size keys {unknown}; use {SIZE_KEYS}")
    return {k: (None if v is None else int(v)) for k, v in size_overrides.items()}


def _prepare_synthetic(name: str, seed: int, n_train=None, n_val=None, n_test=None) -> dict:
    n_train = synthetic.DEFAULT_SIZES["n_train"] if n_train is None else n_train
    n_val = synthetic.DEFAULT_SIZES["n_val"] if n_val is None else n_val
    n_pool = n_train + n_val
    n_test = round(n_pool / 0.8) - n_pool if n_test is None else n_test
    if n_train < 1 or n_val < 0 or n_test < 1:
        raise ValueError(f"{name}: invalid sizes n_train={n_train}, n_val={n_val}, n_test={n_test}")
    rng = np.random.default_rng(seed)
    x_pool, y_pool, x_test, y_test = synthetic.draw_synthetic(name, n_pool, n_test, rng)
    train_idx, val_idx = stratified_split(y_pool, n_val, rng)
    return {
        "X_train": x_pool[train_idx], "y_train": y_pool[train_idx],
        "X_val": x_pool[val_idx], "y_val": y_pool[val_idx],
        "X_test": x_test, "y_test": y_test,
        "X_pool": x_pool,
        "feature_names": [f"x{i + 1}" for i in range(x_pool.shape[1])],
        "protected": PROTECTED[name],
        "categorical_groups": {},
        "provenance": {
            "source": {"generator": synthetic.GENERATOR_PARAMS[name],
                       "n_generated": max(synthetic.N_GENERATED, n_pool + n_test)},
            "preprocessing": "none (raw coordinates)",
        },
    }  # fmt: skip


def prepare_dataset(
    name: str,
    *,
    seed: int,
    data_dir=None,
    domain_n_std: float = 2.0,
    fit_on: str = FIT_ON[0],
    **size_overrides,
) -> DatasetSplits:
    """Prepare dataset `name` (one of DATASETS); see the module docstring."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: use one of {DATASETS}")
    if fit_on not in FIT_ON:
        raise ValueError(f"fit_on={fit_on!r}: use one of {FIT_ON}")
    sizes = _sizes(name, size_overrides)
    if name in SYNTHETIC:
        parts = _prepare_synthetic(name, seed, **sizes)
    elif name in TABULAR:
        parts = tabular.prepare_tabular(name, seed=seed, data_dir=data_dir, fit_on=fit_on, **sizes)
    else:
        parts = mnist.prepare_mnist(seed=seed, data_dir=data_dir, **sizes)
    x_pool = parts.pop("X_pool", None)
    if "domain" in parts:
        lower, upper = parts.pop("domain")
        domain = {"box": "fixed"}
    else:
        fit_rows = x_pool if fit_on == "train_pool" else parts["X_train"]
        lower, upper = infer_domain(fit_rows, domain_n_std)
        domain = {"box": "inferred", "fit_on": fit_on, "rows": len(fit_rows), "n_std": domain_n_std}
    n_features = parts["X_train"].shape[1]
    provenance = {
        "method": "method.md §4",
        "dataset": name,
        "seed": int(seed),
        "sizes": {k: len(parts[f"y_{k[2:]}"]) for k in SIZE_KEYS},
        "size_overrides": {k: v for k, v in sorted(sizes.items()) if v is not None},
        "domain": domain,
        **parts.pop("provenance"),
    }
    n_classes = 10 if name == "mnist" else 2
    return DatasetSplits(
        name=name,
        **parts,
        mutability=mutability_vector(n_features, parts["protected"]),
        lower=lower,
        upper=upper,
        n_classes=n_classes,
        seed=int(seed),
        provenance=provenance,
    )
