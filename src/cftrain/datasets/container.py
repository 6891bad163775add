"""One prepared dataset as arrays, and its HDF5 file under results/data/ (method.md §4).

File format `cftrain.dataset/1`: datasets X_train, y_train, X_val, y_val, X_test, y_test,
feature_names, mutability (codes of cftrain.constraints with the §4 protected features set to
`none`), protected (0-based indices), lower, upper (domain box); root attributes format, name,
n_classes, seed and provenance (JSON string: raw file sha256, preprocessing parameters, sizes).
Added in the same format version (readers default it when absent): root attribute
categorical_groups, a JSON object {categorical variable: [0-based one-hot column indices]}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from cftrain.io import atomic_path, check_format, read_hdf5

FORMAT = "cftrain.dataset/1"
_ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


@dataclass
class DatasetSplits:
    """Train/validation/test arrays (float32 features, int64 labels) plus actionability metadata."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    protected: list[int]
    mutability: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_classes: int
    seed: int
    provenance: dict = field(default_factory=dict)
    categorical_groups: dict[str, list[int]] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def write_dataset(ds: DatasetSplits, path: str | Path) -> None:
    """Write `ds` atomically to `path` (byte-identical for identical input)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        for key in _ARRAYS:
            value = getattr(ds, key)
            f.create_dataset(
                key, data=value.astype(np.float32 if key.startswith("X") else np.int64)
            )
        f.create_dataset(
            "feature_names",
            data=np.array(ds.feature_names, dtype=object),
            dtype=h5py.string_dtype(),
        )
        f.create_dataset("protected", data=np.asarray(ds.protected, dtype=np.int64))
        f.create_dataset("mutability", data=np.asarray(ds.mutability, dtype=np.int8))
        f.create_dataset("lower", data=np.asarray(ds.lower, dtype=np.float32))
        f.create_dataset("upper", data=np.asarray(ds.upper, dtype=np.float32))
        f.attrs["format"] = FORMAT
        f.attrs["name"] = ds.name
        f.attrs["n_classes"] = int(ds.n_classes)
        f.attrs["seed"] = int(ds.seed)
        f.attrs["provenance"] = json.dumps(ds.provenance, sort_keys=True)
        f.attrs["categorical_groups"] = json.dumps(ds.categorical_groups)


def read_dataset(path: str | Path) -> DatasetSplits:
    """Read and validate a `cftrain.dataset/1` file; errors name the file and the problem."""
    return read_hdf5(path, "dataset", _read_open, (json.JSONDecodeError,))


def _read_open(path: Path, f: h5py.File) -> DatasetSplits:
    check_format(path, f, FORMAT)
    missing = [k for k in (*_ARRAYS, "feature_names", "mutability", "lower", "upper") if k not in f]
    if missing:
        raise ValueError(f"{path}: missing datasets {missing}")
    arrays = {k: f[k][()] for k in _ARRAYS}
    d = len(f["feature_names"])
    for split in ("train", "val", "test"):
        x, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if x.ndim != 2 or y.ndim != 1 or x.shape != (y.shape[0], d):
            raise ValueError(
                f"{path}: X_{split} {x.shape} and y_{split} {y.shape} do not fit {d} features"
            )
    return DatasetSplits(
        name=str(f.attrs["name"]),
        **arrays,
        feature_names=[
            s.decode() if isinstance(s, bytes) else str(s) for s in f["feature_names"][()]
        ],
        protected=[int(i) for i in f["protected"][()]] if "protected" in f else [],
        mutability=f["mutability"][()],
        lower=f["lower"][()],
        upper=f["upper"][()],
        n_classes=int(f.attrs["n_classes"]),
        seed=int(f.attrs["seed"]),
        provenance=json.loads(f.attrs.get("provenance", "{}")),
        categorical_groups=json.loads(f.attrs.get("categorical_groups", "{}")),
    )
