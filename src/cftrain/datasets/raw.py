"""Raw data files of the real datasets (method.md §4): location, sha256 verification, download.

Every raw file is verified before use against tables shipped in the package:
`cftrain/checksums.sha256` (sha256 of the file, `sha256sum -c` format, the values of the verified
offline copies) and `cftrain/data/content_sha256.txt` (sha256 of the parsed *content*, see
`content_digest`). A file passes if its file sha256 matches; a file rebuilt by `download_raw` from the
canonical source cannot have the same gzip header (name, mtime) as the offline copy, so it passes
only if its parsed content is identical. Anything else is an error — a raw file is never used
unverified.

Data folder: the `data_dir` argument, else the environment variable CFTRAIN_DATA_DIR.
Command line: `python -m cftrain.datasets download <dataset> --data-dir DIR`,
`python -m cftrain.datasets import-gmsc cs-training.csv --data-dir DIR`,
`python -m cftrain.datasets verify --data-dir DIR`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
import zipfile
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
    "ADULT_COLUMNS",
    "CALIFORNIA_COLUMNS",
    "RAW_SOURCES",
    "RawDataError",
    "adult_from_uci",
    "california_from_statlib",
    "content_digest",
    "credit_from_uci",
    "download_raw",
    "expected_sha256",
    "gmsc_from_kaggle",
    "import_gmsc",
    "raw_path",
    "read_idx",
    "sha256_file",
    "verify_raw",
    "write_csv_gz",
    "write_mnist_npz",
]

ENV_DATA_DIR = "CFTRAIN_DATA_DIR"


class RawDataError(RuntimeError):
    """A raw data file is missing, corrupted or cannot be obtained."""


@dataclass(frozen=True)
class RawSource:
    """Where a dataset's raw file comes from (for errors, downloads and docs/datasets.md)."""

    dataset: str
    file: str
    title: str
    urls: tuple[str, ...]
    license: str
    citation: str
    note: str = ""


_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_MNIST_MIRRORS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirror of the same files
)

RAW_SOURCES: dict[str, RawSource] = {
    "adult": RawSource(
        "adult",
        "adult.csv.gz",
        "UCI Adult / Census income",
        ("https://archive.ics.uci.edu/static/public/2/adult.zip",),
        "CC BY 4.0",
        "Becker & Kohavi (1996), UCI Machine Learning Repository, doi:10.24432/C5XW20",
        "adult.test rows first (16,281), then adult.data (32,561); strings stripped, '.' of test labels removed",
    ),
    "cali": RawSource(
        "cali",
        "california_housing.csv.gz",
        "California housing",
        (
            "https://ndownloader.figshare.com/files/5976036",  # scikit-learn's copy of cal_housing.tgz
            "https://www.dcc.fc.up.pt/~ltorgo/Regression/cal_housing.tgz",
        ),
        "public domain (StatLib)",
        "Pace & Barry (1997), Sparse spatial autoregressions, Stat. Prob. Letters 33(3)",
        "StatLib cal_housing.data transformed exactly as sklearn.datasets.fetch_california_housing",
    ),
    "credit": RawSource(
        "credit",
        "credit_default_taiwan.csv.gz",
        "Default of credit card clients (Taiwan)",
        ("https://archive.ics.uci.edu/static/public/350/default+of+credit+card+clients.zip",),
        "CC BY 4.0",
        "Yeh & Lien (2009), Expert Systems with Applications 36(2); UCI doi:10.24432/C55S3H",
        "the .xls is read with pandas (needs `pip install xlrd`); columns ID, X1..X23, Y",
    ),
    "gmsc": RawSource(
        "gmsc",
        "gmsc.csv.gz",
        "Give Me Some Credit (Kaggle cs-training.csv)",
        ("https://www.kaggle.com/competitions/GiveMeSomeCredit/data",),
        "Kaggle competition rules (research use)",
        "Credit Fusion & Will Cukierski (2011), Give Me Some Credit, Kaggle",
        "needs a Kaggle login: download cs-training.csv by hand, then `import-gmsc`",
    ),
    "mnist": RawSource(
        "mnist",
        "mnist.npz",
        "MNIST handwritten digits",
        tuple(m + f for m in _MNIST_MIRRORS[:1] for f in _MNIST_FILES),
        "CC BY-SA 3.0",
        "LeCun, Cortes & Burges (1998), The MNIST database of handwritten digits",
        "the four IDX files converted to npz (keys train_images, train_labels, test_images, test_labels)",
    ),
}


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
            "(e.g. to a folder of verified copies such as ../shared/data, or to an empty folder "
            "filled by `python -m cftrain.datasets download <dataset> --data-dir DIR`)"
        )
    return Path(chosen)


def _how_to_obtain(source: RawSource, folder: Path) -> str:
    if source.dataset == "gmsc":
        how = (
            f"it needs a Kaggle login: download cs-training.csv from {source.urls[0]}, then run "
            f"`python -m cftrain.datasets import-gmsc cs-training.csv --data-dir {folder}`"
        )
    else:
        how = (
            f"run `python -m cftrain.datasets download {source.dataset} --data-dir {folder}` "
            f"(fetches {source.urls[0]})"
        )
    return f"{how}; or point data_dir/{ENV_DATA_DIR} at a folder of verified copies (e.g. ../shared/data)"


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
        + _how_to_obtain(source, path.parent)
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
            + _how_to_obtain(source, folder)
        )
    return path, verify_raw(path, source)


# --- downloads --------------------------------------------------------------------------------


def _fetch(url: str, timeout: float = 120.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "cftrain (research data fetch)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _fetch_first(urls: tuple[str, ...] | list[str]) -> bytes:
    errors = []
    for url in urls:
        try:
            return _fetch(url)
        except Exception as err:  # try the next mirror, report all failures together
            errors.append(f"{url}: {err}")
    raise RawDataError("download failed from every source:\n  " + "\n  ".join(errors))


def _zip_member(archive: bytes, suffix: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if not names:
            raise RawDataError(f"archive has no member ending in {suffix!r}: {z.namelist()}")
        return z.read(names[0])


def download_raw(dataset: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Fetch `dataset`'s raw file from its canonical source into `data_dir`, convert, verify."""
    if dataset not in RAW_SOURCES:
        raise ValueError(f"{dataset!r} has no raw file; real datasets: {sorted(RAW_SOURCES)}")
    source = RAW_SOURCES[dataset]
    folder = resolve_data_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.file
    if dataset == "gmsc":
        raise RawDataError(
            "GMSC cannot be downloaded automatically: Kaggle requires a login and acceptance of "
            f"the competition rules. Download cs-training.csv from {source.urls[0]} and run "
            f"`python -m cftrain.datasets import-gmsc cs-training.csv --data-dir {folder}`."
        )
    if dataset == "mnist":
        names = ("train_images", "train_labels", "test_images", "test_labels")
        arrays = {
            key: read_idx(_fetch_first([m + file for m in _MNIST_MIRRORS]))
            for key, file in zip(names, _MNIST_FILES, strict=True)
        }
        write_mnist_npz(arrays, target)
    elif dataset == "adult":
        archive = _fetch_first(source.urls)
        frame = adult_from_uci(
            _zip_member(archive, "adult.data").decode("latin-1"),
            _zip_member(archive, "adult.test").decode("latin-1"),
        )
        write_csv_gz(frame, target)
    elif dataset == "cali":
        with tarfile.open(fileobj=io.BytesIO(_fetch_first(source.urls)), mode="r:gz") as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("cal_housing.data"))
            text = tar.extractfile(member).read().decode()
        write_csv_gz(california_from_statlib(text), target)
    elif dataset == "credit":
        xls = _zip_member(_fetch_first(source.urls), ".xls")
        try:
            frame = pd.read_excel(io.BytesIO(xls), header=1)
        except ImportError as err:
            raise RawDataError(
                f"reading the UCI .xls needs xlrd: `pip install xlrd` ({err})"
            ) from err
        write_csv_gz(credit_from_uci(frame), target)
    try:
        verify_raw(target, source)
    except RawDataError:
        target.unlink(missing_ok=True)
        raise
    return target


def import_gmsc(cs_training_csv: str | os.PathLike, data_dir: str | os.PathLike | None) -> Path:
    """Convert a hand-downloaded Kaggle cs-training.csv into `data_dir`/gmsc.csv.gz and verify it."""
    folder = resolve_data_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / RAW_SOURCES["gmsc"].file
    write_csv_gz(gmsc_from_kaggle(pd.read_csv(cs_training_csv)), target)
    try:
        verify_raw(target, RAW_SOURCES["gmsc"])
    except RawDataError:
        target.unlink(missing_ok=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cftrain.datasets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    down = sub.add_parser("download", help="fetch one dataset (or 'all') from its canonical source")
    down.add_argument("dataset", choices=[*sorted(RAW_SOURCES), "all"])
    imp = sub.add_parser("import-gmsc", help="convert a hand-downloaded Kaggle cs-training.csv")
    imp.add_argument("csv")
    ver = sub.add_parser("verify", help="verify every raw file present in the data folder")
    for p in (down, imp, ver):
        p.add_argument("--data-dir", default=None, help=f"default: ${ENV_DATA_DIR}")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except RawDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "download":
        names = (
            [n for n in sorted(RAW_SOURCES) if n != "gmsc"]
            if args.dataset == "all"
            else [args.dataset]
        )
        for name in names:
            print(download_raw(name, args.data_dir))
    elif args.command == "import-gmsc":
        print(import_gmsc(args.csv, args.data_dir))
    else:
        failed = 0
        for name in sorted(RAW_SOURCES):
            try:
                path, info = raw_path(name, args.data_dir)
                print(f"OK      {path} ({info['verified_by']})")
            except RawDataError as err:
                failed += 1
                print(f"FAILED  {err}", file=sys.stderr)
        return int(failed > 0)
    return 0
