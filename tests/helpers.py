"""Test helpers: a copy of the repository in a temporary folder, and where the raw data lives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The verified raw-data folder: $CFTRAIN_DATA_DIR, else ../shared/data beside the repository."""
    env = os.environ.get("CFTRAIN_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def copy_repo(dest: Path) -> Path:
    """Copy the tracked files (plus untracked, non-ignored ones) of the repository into `dest`."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def run_snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if shared_data_dir():
        env.setdefault("CFTRAIN_DATA_DIR", str(shared_data_dir()))
    return subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )
