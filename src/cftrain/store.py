"""The counterfactual store: one compact HDF5 file per evaluated model and setting.

Format `cftrain.counterfactuals/1` (a contract other tools read): datasets `factual` (n,d) float32,
`counterfactual` (n,d) float32, `target` (n,) int64, `factual_label` (n,) int64, `converged` (n,) bool,
`steps` (n,) int32, optional extra per-row datasets (e.g. `run` (n,) int32); root attributes
`format`, `generator`, `dataset`, `objective`, `seed` plus the generator parameters. No search path,
no copy of the data or the model (what made the original's objects huge, method.md §9).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from cftrain.io import atomic_path, check_format, read_hdf5

FORMAT = "cftrain.counterfactuals/1"
REQUIRED = {
    "factual": (np.float32, 2),
    "counterfactual": (np.float32, 2),
    "target": (np.int64, 1),
    "factual_label": (np.int64, 1),
    "converged": (np.bool_, 1),
    "steps": (np.int32, 1),
}
REQUIRED_ATTRS = ("format", "generator", "dataset", "objective", "seed")


@dataclass
class CounterfactualSet:
    """Arrays of one store file; `extra` holds optional per-row arrays, `attrs` the metadata."""

    factual: np.ndarray
    counterfactual: np.ndarray
    target: np.ndarray
    factual_label: np.ndarray
    converged: np.ndarray
    steps: np.ndarray
    attrs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.target.shape[0])


def write_counterfactuals(
    path: str | Path, cs: CounterfactualSet, *, compression: str | None = None
) -> None:
    """Write atomically. `compression="gzip"` trades write time for size (chunks of whole rows)."""
    missing = [a for a in REQUIRED_ATTRS if a != "format" and a not in cs.attrs]
    if missing:
        raise ValueError(f"counterfactual attrs missing {missing} for {path}")
    n = len(cs)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, (dtype, ndim) in REQUIRED.items():
            data = np.asarray(getattr(cs, name)).astype(dtype, copy=False)
            if data.ndim != ndim or data.shape[0] != n:
                raise ValueError(f"{name}: shape {data.shape} does not fit n={n} rows, {ndim} dims")
            kwargs = {}
            if compression and data.size:
                kwargs = {"compression": compression, "chunks": (min(n, 4096), *data.shape[1:])}
            f.create_dataset(name, data=data, **kwargs)
        for name, data in cs.extra.items():
            data = np.asarray(data)
            if data.shape[0] != n:
                raise ValueError(f"extra dataset {name}: {data.shape[0]} rows, expected {n}")
            f.create_dataset(name, data=data)
        f.attrs["format"] = FORMAT
        for key, value in sorted(cs.attrs.items()):
            if key == "format":
                continue
            f.attrs[key] = json.dumps(value) if isinstance(value, dict | list) else value


def read_counterfactuals(path: str | Path) -> CounterfactualSet:
    """Read and validate a store file; a truncated or foreign file raises ValueError naming it."""
    return read_hdf5(path, "counterfactual", _read_open)


def _read_open(path: Path, f: h5py.File) -> CounterfactualSet:
    check_format(path, f, FORMAT)
    missing = [a for a in REQUIRED_ATTRS if a not in f.attrs]
    if missing:
        raise ValueError(f"{path}: attributes {missing} missing")
    arrays = {}
    for name, (dtype, ndim) in REQUIRED.items():
        if name not in f:
            raise ValueError(f"{path}: dataset {name!r} missing")
        data = f[name][()]
        if data.dtype != dtype or data.ndim != ndim:
            raise ValueError(
                f"{path}: dataset {name!r} is {data.dtype} {data.ndim}-D, expected {np.dtype(dtype)} {ndim}-D"
            )
        arrays[name] = data
    n = arrays["target"].shape[0]
    if any(a.shape[0] != n for a in arrays.values()):
        raise ValueError(f"{path}: datasets have different row counts")
    extra = {k: f[k][()] for k in f if k not in REQUIRED}
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    return CounterfactualSet(**arrays, attrs=attrs, extra=extra)


SURFACE_FORMAT = "cftrain.surface/1"


def write_surface(path: str | Path, gx: np.ndarray, gy: np.ndarray, prob: np.ndarray) -> None:
    """Write a `cftrain.surface/1` file atomically: x and y grids (r, r), class probabilities
    (r, r, K), all float32 (written by the decision_surface step, read by `read_surface`)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("x", data=gx.astype(np.float32))
        f.create_dataset("y", data=gy.astype(np.float32))
        f.create_dataset("probability", data=prob.astype(np.float32))
        f.attrs["format"] = SURFACE_FORMAT


def read_surface(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x grid, y grid, class probabilities (r, r, K)) of a `cftrain.surface/1` file, validated."""

    def read(path, f):
        check_format(path, f, SURFACE_FORMAT)
        return tuple(f[k][()] for k in ("x", "y", "probability"))

    gx, gy, prob = read_hdf5(path, "decision-surface", read)
    if gx.shape != gy.shape or prob.shape[:2] != gx.shape or prob.ndim != 3:
        raise ValueError(
            f"{path}: grid {gx.shape}/{gy.shape} and probabilities {prob.shape} differ"
        )
    return gx, gy, prob


IG_MAPS_FORMAT = "cftrain.igmaps/1"


def write_ig_maps(path: str | Path, maps: np.ndarray, dataset: str) -> None:
    """Write a `cftrain.igmaps/1` file atomically: dataset `maps` (n_classes, d) float32, the
    class-averaged IG maps of the MNIST IG figure; attribute `dataset`."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("maps", data=np.asarray(maps, dtype=np.float32))
        f.attrs["format"] = IG_MAPS_FORMAT
        f.attrs["dataset"] = dataset


def read_ig_maps(path: str | Path) -> np.ndarray:
    """The (n_classes, d) maps of a `cftrain.igmaps/1` file, validated; errors name the file."""

    def read(path, f):
        check_format(path, f, IG_MAPS_FORMAT)
        return f["maps"][()]

    maps = read_hdf5(path, "IG-maps", read)
    if maps.ndim != 2 or maps.size == 0:
        raise ValueError(f"{path}: maps have shape {maps.shape}, expected (n_classes, d)")
    return maps
