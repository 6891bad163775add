"""Conversion of the canonical raw distributions into the verified file layouts (method.md §4).

Pure functions, unit-tested offline: MNIST IDX → npz, UCI adult.data/adult.test → adult.csv.gz,
StatLib cal_housing.data → california_housing.csv.gz (as scikit-learn computes it), UCI credit
.xls table → credit_default_taiwan.csv.gz, Kaggle cs-training.csv → gmsc.csv.gz.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from cftrain.io import atomic_path


def read_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or not) of unsigned bytes into an array."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\0\0" or dtype_code != 0x08:
        raise ValueError("not an IDX file of unsigned bytes (magic 0x0000 08 xx)")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"IDX body has {body.size} bytes, header shape {shape}")
    return body.reshape(shape).copy()


def write_mnist_npz(arrays: dict[str, np.ndarray], path: Path) -> None:
    """npz with the key order and compression of the verified copy (zip times are fixed by numpy)."""
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **{k: np.asarray(arrays[k], dtype=np.uint8) for k in keys})


ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "educational-num", "marital-status", "occupation",
    "relationship", "race", "gender", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip


def adult_from_uci(data_text: str, test_text: str) -> pd.DataFrame:
    """UCI adult.test then adult.data as one table (layout of the verified adult.csv.gz)."""

    def parse(text: str) -> pd.DataFrame:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("|")]
        frame = pd.read_csv(
            io.StringIO("\n".join(lines)), header=None, names=ADULT_COLUMNS, skipinitialspace=True
        )
        frame["income"] = frame["income"].str.rstrip(".")
        return frame

    return pd.concat([parse(test_text), parse(data_text)], ignore_index=True)


CALIFORNIA_COLUMNS = [
    "MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude",
    "Longitude", "MedHouseVal",
]  # fmt: skip


def california_from_statlib(text: str) -> pd.DataFrame:
    """StatLib cal_housing.data → the 8 features + target exactly as scikit-learn computes them."""
    raw = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    raw = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    target, data = raw[:, 0], raw[:, 1:]
    data[:, 2] /= data[:, 5]  # rooms per household
    data[:, 3] /= data[:, 5]  # bedrooms per household
    data[:, 5] = data[:, 4] / data[:, 5]  # occupants per household
    return pd.DataFrame(np.c_[data, target / 100000.0], columns=CALIFORNIA_COLUMNS)


def credit_from_uci(frame: pd.DataFrame) -> pd.DataFrame:
    """UCI credit-card table (read with its descriptive header row) → columns ID, X1..X23, Y."""
    if frame.shape[1] != 25:
        raise ValueError(f"credit table has {frame.shape[1]} columns, expected 25")
    out = frame.copy()
    out.columns = ["ID", *(f"X{i}" for i in range(1, 24)), "Y"]
    return out.reset_index(drop=True)


def gmsc_from_kaggle(frame: pd.DataFrame) -> pd.DataFrame:
    """Kaggle cs-training.csv (unnamed first column = row id) → first column named `id`."""
    out = frame.copy()
    out.columns = ["id", *out.columns[1:]]
    return out


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic csv.gz (no file name or time in the gzip header)."""
    text = frame.to_csv(index=False, lineterminator="\n").encode()
    with atomic_path(path) as tmp, open(tmp, "wb") as raw_file:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw_file, mtime=0) as gz:
            gz.write(text)
