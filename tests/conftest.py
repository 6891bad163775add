"""Shared fixtures: the quick workflow run once per session; the verified raw data."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import copy_repo, run_snakemake, shared_data_dir, skip_or_fail

from cftrain.datasets.raw import RAW_SOURCES


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> Path:
    """The quick config run end to end once per test session, in a copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("quick"))
    proc = run_snakemake(work, "--configfile", "config/quick.yaml", "--cores", "2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work


@pytest.fixture(scope="session")
def raw_data_dir() -> Path:
    """The folder of verified raw files; skips (fails on CI) when it or a file is missing."""
    folder = shared_data_dir()
    missing = [
        s.file for s in RAW_SOURCES.values() if not folder or not (folder / s.file).is_file()
    ]
    if missing:
        skip_or_fail(
            f"real raw data not found (missing {', '.join(missing)} in "
            f"{folder or '$CFTRAIN_DATA_DIR or ../shared/data'}; set CFTRAIN_DATA_DIR to a folder "
            "with the verified copies)"
        )
    return folder
