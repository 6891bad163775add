"""Shared fixtures: the verified raw data; the quick workflow runs at most twice per test session.

Run 1 is `quick_run` (local: its jobs are forked by the fork server). Run 2 is `second_quick_run`,
used by the determinism test: when the SLURM comparison (tests/test_slurm.py) ran the quick config
through SLURM in this session, that run is reused (it is registered in `SECOND_RUN`); otherwise the
quick config runs once more, locally, each job in its own process (fork server off).
Tests that use `second_quick_run` are moved to the end of the session so the SLURM run comes first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import copy_repo, run_snakemake, shared_data_dir, skip_or_fail

from cftrain.datasets.raw import RAW_SOURCES

QUICK = ("--configfile", "config/quick.yaml")
# {"slurm": <workdir>} once the SLURM test has run the quick config successfully.
SECOND_RUN: dict[str, Path] = {}


def pytest_collection_modifyitems(config, items):
    later = [item for item in items if "second_quick_run" in getattr(item, "fixturenames", ())]
    items[:] = [item for item in items if item not in later] + later


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> Path:
    """The quick config run end to end once per test session, in a copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("quick"))
    # 188 jobs since issue 15 (baselines slice): 14 min measured on 2 cores under load 12.
    proc = run_snakemake(work, *QUICK, "--cores", "2", timeout=1500)
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


@pytest.fixture(scope="session")
def second_quick_run(quick_run, tmp_path_factory) -> tuple[Path, str]:
    """(workdir, "slurm" | "local"): a second, independent run of the quick config."""
    if "slurm" in SECOND_RUN:
        return SECOND_RUN["slurm"], "slurm"
    work = copy_repo(tmp_path_factory.mktemp("second"))
    # Without the fork server: the determinism test then also shows that forked jobs (run 1)
    # and jobs in their own processes give the same bytes (cftrain.forkserver).
    proc = run_snakemake(
        work, *QUICK, "--cores", "2", timeout=1500, extra_env={"CFTRAIN_FORKSERVER": "off"}
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, "local"
