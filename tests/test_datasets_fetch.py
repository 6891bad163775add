"""Raw data as a workflow step (cftrain.datasets.fetch) against a real HTTP mirror on 127.0.0.1.

The mirror serves the verified copies (tests/helpers.shared_data_dir); nothing here needs the
internet. The canonical sources are pointed at the same local server (404), so a failing mirror
cannot fall back to the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from helpers import copy_repo, http_mirror, run_snakemake

from cftrain.datasets import fetch, raw

REAL = sorted(raw.RAW_SOURCES)


def sha256sums(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().split("\n")
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def offline_canonical(monkeypatch, base: str) -> None:
    """Point every canonical URL at `base`/missing/... (404 from the local server)."""
    for name, source in raw.RAW_SOURCES.items():
        downloads = tuple(
            dataclasses.replace(d, urls=(f"{base}/missing/{d.fname}",)) for d in source.downloads
        )
        monkeypatch.setitem(raw.RAW_SOURCES, name, dataclasses.replace(source, downloads=downloads))


@pytest.mark.slow
def test_data_rules_fetch_every_real_dataset_from_the_mirror(raw_data_dir, tmp_path):
    """A clean copy with no data folder: the data rules fetch all five raw files, verified."""
    work = copy_repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if k != "CFTRAIN_DATA_DIR"}
    env["PYTHONHASHSEED"] = "0"
    targets = [f"results/data/{name}.h5" for name in REAL]
    with http_mirror(raw_data_dir) as (url, requests):
        env["CFTRAIN_DATA_MIRROR"] = url
        proc = run_snakemake(
            work, *targets, "--cores", "2", "--config", "data_dir=no-such-folder", env=env
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        expected = sha256sums(raw_data_dir)
        cache = work / "resources" / "raw"
        fetched = {raw.RAW_SOURCES[n].file for n in REAL}
        assert sorted(requests) == sorted(f"/{f}" for f in fetched)
        assert set(files_in(cache)) == fetched  # nothing else: no temporary or partial file
        for file in fetched:
            assert hashlib.sha256((cache / file).read_bytes()).hexdigest() == expected[file]
        for target in targets:
            assert (work / target).stat().st_size > 0
        # Everything is cached: a second run does nothing and asks the server for nothing.
        again = run_snakemake(work, *targets, "--cores", "1", "--config",
                              "data_dir=no-such-folder", env=env)  # fmt: skip
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    assert len(requests) == len(fetched)


def test_corrupted_mirror_file_is_named_and_leaves_a_clean_cache(
    raw_data_dir, tmp_path, monkeypatch
):
    served = tmp_path / "served"
    served.mkdir()
    file = raw.RAW_SOURCES["cali"].file
    data = bytearray((raw_data_dir / file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (served / file).write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with http_mirror(served) as (url, requests):
        offline_canonical(monkeypatch, url)
        with pytest.raises(raw.RawDataError) as err:
            fetch.fetch_raw("cali", cache, mirror=url)
    message = str(err.value)
    assert f"raw file {file}" in message
    assert f"{url}/{file}" in message and f"{url}/missing/cal_housing.tgz" in message
    assert raw.expected_sha256(file) in message  # expected hash
    assert hashlib.sha256(bytes(data)).hexdigest() in message  # actual hash
    assert "404" in message  # the canonical URL's own error
    assert requests == [f"/{file}", "/missing/cal_housing.tgz"]
    assert files_in(cache) == []  # no partial, temporary or corrupted file left


def test_download_failure_names_file_every_url_and_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    with http_mirror(empty) as (url, _):
        offline_canonical(monkeypatch, url)
        with pytest.raises(raw.RawDataError) as err:
            fetch.fetch_raw("mnist", tmp_path / "cache", mirror=url + "/")
    message = str(err.value)
    assert "mnist.npz" in message and f"{url}/mnist.npz: HTTPError: 404" in message
    # MNIST has four canonical files; the first that fails ends the attempt, and is named.
    assert f"{url}/missing/train-images-idx3-ubyte.gz: HTTPError: 404" in message
    assert "CFTRAIN_DATA_MIRROR" in message
    assert files_in(tmp_path / "cache") == []


def test_cached_verified_file_is_not_fetched_again(raw_data_dir, tmp_path):
    cache = tmp_path / "cache"
    with http_mirror(raw_data_dir) as (url, requests):
        first = fetch.fetch_raw("adult", cache, mirror=url)
        assert requests == ["/adult.csv.gz"]
        second = fetch.fetch_raw("adult", cache, mirror=url)
        assert second == first == cache / "adult.csv.gz"
        assert requests == ["/adult.csv.gz"]  # the server saw no second request
        # A verified copy in the data folder is used in place: no request either.
        assert fetch.fetch_raw("cali", cache, mirror=url, data_dir=raw_data_dir) == (
            raw_data_dir / "california_housing.csv.gz"
        )
        assert requests == ["/adult.csv.gz"]


def test_cached_file_that_no_longer_verifies_is_fetched_again(raw_data_dir, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(raw_data_dir / "adult.csv.gz", cache)
    (cache / "adult.csv.gz").write_bytes(b"truncated")
    with http_mirror(raw_data_dir) as (url, requests):
        path = fetch.fetch_raw("adult", cache, mirror=url)
    assert requests == ["/adult.csv.gz"]
    assert raw.sha256_file(path) == raw.expected_sha256("adult.csv.gz")
