"""The fork server of local workflow runs (cftrain.forkserver, issue 16): a delegated job runs in a
child of the server with the client's directory, environment, argv, stdio and exit code; without a
server, inside SLURM, or switched off, the script runs in its own process; a cancelled client takes
its job with it; the server ends with its Snakemake run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cftrain import forkserver

SCRIPT = """\
import json, os, sys
from cftrain.forkserver import delegate

delegate(__file__)
out = {"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
       "marker": os.environ.get("MARKER"), "argv": sys.argv[1:]}
print(json.dumps(out))
print("to stderr", file=sys.stderr)
action = sys.argv[1]
if action == "raise":
    raise RuntimeError("the job failed")
if action == "sleep":
    open(sys.argv[2], "w").write(str(os.getpid()))
    import time
    time.sleep(60)
if action == "torch":
    import torch
    torch.set_num_threads(2)
    a = torch.randn(300, 300, generator=torch.Generator().manual_seed(0))
    print(json.dumps({"sum": float((a @ a).sum()), "threads": torch.get_num_threads()}))
sys.exit(int(action) if action.isdigit() else 0)
"""


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server process on a fresh socket: (address, pid)."""
    folder = tmp_path_factory.mktemp("fs")
    address = str(folder / "s.sock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cftrain.forkserver", address, "--parent", str(os.getpid())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert _wait_for(lambda: os.path.exists(address), 120), "server did not come up"
    yield address, proc.pid
    proc.terminate()
    proc.wait(timeout=10)
    assert not os.path.exists(address), "the socket is removed when the server stops"


def _client(tmp_path: Path, *args: str, address: str | None, **env: str):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k not in {forkserver.ENV, "SLURM_JOB_ID"}}
    if address is not None:
        environ[forkserver.ENV] = address
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, str(script), *args], cwd=work, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _run(tmp_path, *args, address, **env):
    proc = _client(tmp_path, *args, address=address, **env)
    out, err = proc.communicate(timeout=120)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return proc, lines, err


def test_job_runs_in_a_server_child_with_the_clients_cwd_env_argv_stdio_and_exit_code(
    server, tmp_path
):
    address, server_pid = server
    proc, lines, err = _run(tmp_path, "3", "more", address=address, MARKER="m1")
    assert proc.returncode == 3
    (info,) = lines
    assert info["ppid"] == server_pid and info["pid"] != proc.pid  # forked by the server
    assert info["cwd"] == str(tmp_path / "work")
    assert info["marker"] == "m1" and info["argv"] == ["3", "more"]
    assert "to stderr" in err


def test_an_exception_in_the_job_is_exit_code_1_with_its_traceback(server, tmp_path):
    address, server_pid = server
    proc, lines, err = _run(tmp_path, "raise", address=address)
    assert proc.returncode == 1
    assert lines[0]["ppid"] == server_pid
    assert "RuntimeError: the job failed" in err and "Traceback" in err


def test_torch_in_the_child_is_that_of_a_fresh_process(server, tmp_path):
    """The server imported torch but ran nothing: threads can be set and results equal a plain run."""
    address, server_pid = server
    served, lines, _ = _run(tmp_path, "torch", address=address)
    plain, plain_lines, _ = _run(tmp_path, "torch", address=None)
    assert served.returncode == plain.returncode == 0
    assert lines[0]["ppid"] == server_pid and plain_lines[0]["ppid"] != server_pid
    assert lines[1] == plain_lines[1] and lines[1]["threads"] == 2


@pytest.mark.parametrize(
    "env",
    [{}, {"SLURM_JOB_ID": "42"}, {forkserver.ENV: "off"}],
    ids=["no-server", "slurm-job", "switched-off"],
)
def test_without_a_usable_server_the_script_runs_in_its_own_process(server, tmp_path, env):
    address = server[0] if env else str(tmp_path / "nothing.sock")
    proc, lines, _ = _run(tmp_path, "5", address=address, **env)
    assert proc.returncode == 5
    assert lines[0]["pid"] == proc.pid  # ran right here


def test_a_cancelled_client_takes_its_job_with_it(server, tmp_path):
    address, server_pid = server
    pid_file = tmp_path / "child.pid"
    proc = _client(tmp_path, "sleep", str(pid_file), address=address)
    assert _wait_for(lambda: pid_file.exists() and pid_file.read_text())
    child = int(pid_file.read_text())
    assert child != proc.pid
    proc.send_signal(signal.SIGTERM)  # what Snakemake does to a job it cancels
    proc.wait(timeout=10)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return False

    assert _wait_for(gone, 10), "the job outlived its cancelled client"
    # The server still serves.
    again, lines, _ = _run(tmp_path, "0", address=address)
    assert again.returncode == 0 and lines[0]["ppid"] == server_pid


def test_the_server_ends_with_its_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    address = str(tmp_path / "p.sock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cftrain.forkserver", address, "--parent", str(parent.pid)]
    )
    try:
        assert _wait_for(lambda: os.path.exists(address), 120)
        parent.kill()
        parent.wait()
        proc.wait(timeout=10)
        assert not os.path.exists(address)
    finally:
        for p in (parent, proc):
            if p.poll() is None:
                p.kill()


def test_start_exports_the_socket_and_stop_ends_the_server(tmp_path, monkeypatch):
    monkeypatch.delenv(forkserver.ENV, raising=False)
    proc = forkserver.start(tmp_path / "server.log")
    try:
        assert proc is not None and proc.poll() is None
        address = os.environ[forkserver.ENV]
        assert os.path.exists(address)
    finally:
        forkserver.stop(proc)
    assert proc.poll() is not None and forkserver.ENV not in os.environ
    assert not os.path.exists(address)
    assert "serving on" in (tmp_path / "server.log").read_text()
    monkeypatch.setenv(forkserver.ENV, "off")
    assert forkserver.start(tmp_path / "off.log") is None
