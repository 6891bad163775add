"""Shared fixtures: the quick workflow run once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import copy_repo, run_snakemake


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> Path:
    """The quick config run end to end once per test session, in a copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("quick"))
    proc = run_snakemake(work, "--configfile", "config/quick.yaml", "--cores", "2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work
