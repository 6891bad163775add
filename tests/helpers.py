"""Test helpers: a copy of the repository in a temporary folder, where the raw data lives, a local
HTTP mirror, and skips that become failures on CI."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Not part of a checkout: outputs, caches and tool state (mirrors .gitignore).
_NOT_SOURCE = {".git", ".snakemake", "resources", "__pycache__", ".pytest_cache", ".ruff_cache",
               ".venv", "build", "out"}  # fmt: skip


def on_ci() -> bool:
    """CI sets CI=true: there a missing prerequisite is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip with `reason`, or fail with it on CI (where raw data and SLURM must be present)."""
    if on_ci():
        pytest.fail(f"CI=true and a prerequisite is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_data_dir() -> Path | None:
    """The verified raw-data folder: $CFTRAIN_DATA_DIR, else ../shared/data beside the repository."""
    env = os.environ.get("CFTRAIN_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def _ignore(folder: str, names: list[str]) -> set[str]:
    rel = Path(folder).relative_to(REPO)
    ignored = {n for n in names if n in _NOT_SOURCE or n.endswith(".egg-info")}
    if rel == Path("results"):
        ignored |= {n for n in names if n != "README.md"}
    return ignored


def copy_repo(dest: Path) -> Path:
    """Copy the repository's source files into `dest` (no outputs, caches or .git).

    Plain file-system copy, so the suite runs from a clone and from a copy without .git alike.
    """
    shutil.copytree(REPO, dest, ignore=_ignore, dirs_exist_ok=True)
    return dest


def run_snakemake(
    workdir: Path,
    *args: str,
    timeout: int = 600,
    env: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`snakemake *args` in `workdir`; the verified data folder is used unless `env` is given;
    `extra_env` is added to either."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    if env is None:
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if shared_data_dir():
            env.setdefault("CFTRAIN_DATA_DIR", str(shared_data_dir()))
    env = {**env, **(extra_env or {})}
    return subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )


@contextlib.contextmanager
def http_mirror(folder: Path, lifetime: float = 900.0) -> Iterator[tuple[str, list[str]]]:
    """Serve `folder` on 127.0.0.1 (ephemeral port) from a thread; yield (base URL, request paths).

    The server stops when the block ends, and by itself after `lifetime` seconds at the latest.
    """
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):  # keep the test output clean
            pass

    handler = functools.partial(Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = threading.Timer(lifetime, server.shutdown)
    deadline.daemon = True
    deadline.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def model_and_data(d=5, k=3, n=64, seed=0):
    """A seeded MLP (hidden 16), n standard-normal factuals (n, d) and a target ≠ its prediction."""
    import torch

    from cftrain.models import build_model

    model = build_model("mlp", d, k, hidden=16, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen)
    with torch.no_grad():
        pred = model(x).argmax(1)
    target = (pred + 1 + torch.randint(0, k - 1, (n,), generator=gen)) % k
    return model, x, target
