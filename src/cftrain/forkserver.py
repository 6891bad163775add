"""Fork server for local workflow runs: import torch and cftrain once, fork one child per job.

Why: a workflow job is a fresh Python process that spends ≈ 2–3 s importing torch, pandas and
cftrain before it does a few seconds of work; the default run has ≈ 540 such jobs and the
five-seed replication as many again (issue 16). For a local run (`profiles/local`) the Snakefile's
`onstart` starts `python -m cftrain.forkserver SOCKET --parent PID`, which imports every step
module once and listens on a Unix socket, and exports `CFTRAIN_FORKSERVER=SOCKET` to the jobs.

Every workflow script starts with `delegate(__real_file__)`. With a server, the script process
(the client) sends the path of the file Snakemake generated for the job (its preamble holds the
job's pickled `snakemake` object), its working directory, environment, argv and its stdin, stdout
and stderr; the server forks a child that runs that same file as `__main__` — what `python FILE`
would run, in a process whose imports are already done — and the client exits with the child's
exit code. If the client dies (Snakemake cancels the job), the child's process group is killed.
Without a server — SLURM jobs (`SLURM_JOB_ID` set), direct runs, `CFTRAIN_FORKSERVER=off`, a
server that is gone — `delegate` returns and the script runs in its own process as before.

Results do not depend on the path: the server imports modules and runs no torch operation, so a
child starts with the RNG state and thread pool of a fresh process (torch's default seed, pools
not started; `job_logging` sets the job's thread count), and every job draws from its own seeded
generators. What differs: Snakemake's `benchmark:` files measure the client, so their wall time
`s` is the job's but CPU and memory columns cover the client only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENV = "CFTRAIN_FORKSERVER"
OFF = {"0", "off", "false", "no"}  # values of ENV that switch the fork server off
# Imported by the server before it serves: every module a workflow script or Snakemake's script
# preamble imports. Importing runs no torch operation (a tested property: the child's thread pool
# and RNG state are those of a fresh process).
PRELOAD = (
    "torch",
    "numpy",
    "pandas",
    "h5py",
    "cftrain.steps.common",
    "cftrain.steps.data",
    "cftrain.steps.train",
    "cftrain.steps.counterfactuals",
    "cftrain.steps.evaluate",
    "cftrain.steps.figures",
    "cftrain.plots",
    "snakemake.logging",
    "snakemake.iocontainers",
)
_HEADER = struct.Struct("!I")
_CODE = struct.Struct("!i")
_in_child = False  # True in a forked job: its own `delegate` call must run the script here


# --- client ---------------------------------------------------------------------------------


def server_address() -> str | None:
    """The socket to use, or None: no server, switched off, or inside a SLURM job."""
    address = os.environ.get(ENV, "")
    if _in_child or not address or address.lower() in OFF:
        return None
    if "SLURM_JOB_ID" in os.environ:  # a cluster job runs in its own allocation, never here
        return None
    return address


def delegate(script: str | os.PathLike) -> None:
    """Run `script` (the running workflow script's own file) in the fork server and exit with its
    exit code; return at once when no server serves this process (the script then runs here)."""
    address = server_address()
    if address is None:
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        return  # no server (any more): run in this process
    request = json.dumps(
        {
            "script": os.path.abspath(script),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "argv": sys.argv,
        }
    ).encode()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    socket.send_fds(sock, [_HEADER.pack(len(request)) + request], [0, 1, 2])
    reply = _recv_exactly(sock, _CODE.size)
    if reply is None:
        print(f"cftrain fork server at {address} ended before the job did", file=sys.stderr)
        raise SystemExit(1)
    raise SystemExit(_CODE.unpack(reply)[0])


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# --- server ---------------------------------------------------------------------------------


def _run_child(request: dict, fds: list[int]) -> int:
    """In the forked child: take the client's stdio, directory and environment, run its script."""
    global _in_child
    _in_child = True
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    import runpy
    import traceback

    try:
        runpy.run_path(request["script"], run_name="__main__")
        code = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - reported like the interpreter would, then exit 1
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _serve_one(conn: socket.socket, pid: int, children: set[int], script: str) -> None:
    """Wait for the child `pid`; kill its group if the client goes away; send the exit code."""
    started = time.monotonic()
    gone = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if not gone and select.select([conn], [], [], 0.02)[0]:
            try:
                gone = conn.recv(1) == b""
            except OSError:
                gone = True
            if gone:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        elif gone:
            time.sleep(0.02)
    children.discard(pid)
    code = os.waitstatus_to_exitcode(status)
    print(f"job {pid} exit {code} in {time.monotonic() - started:.2f} s: {script}", flush=True)
    with contextlib.suppress(OSError):
        conn.sendall(_CODE.pack(code if code >= 0 else 128 - code))
    conn.close()


def serve(address: str, parent: int | None = None) -> None:
    """Preload, then fork a child per request on the Unix socket `address` until SIGTERM or until
    the process `parent` (the Snakemake run) ends."""
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    from cftrain import fused_step

    fused_step.warm()  # the compiled search step, loaded once for every job
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    path = Path(address)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound under a temporary name and renamed: the socket appears only when the server serves.
    staging = path.with_name(path.name + ".starting")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    server.bind(str(staging))
    os.chmod(staging, 0o600)
    server.listen(64)
    server.settimeout(0.5)
    os.replace(staging, path)
    print(f"serving on {address} (pid {os.getpid()}, parent {parent})", flush=True)
    children: set[int] = set()
    try:
        while not stop.is_set():
            if parent is not None and not _alive(parent):
                break
            try:
                conn, _ = server.accept()
            except (TimeoutError, InterruptedError):
                continue
            conn.settimeout(None)
            fds: list[int] = []
            try:  # the descriptors come with the first bytes: receive them in the first call
                data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
                size = _HEADER.unpack(data[: _HEADER.size])[0]
                data = data[_HEADER.size :]
                if len(data) < size:
                    data += _recv_exactly(conn, size - len(data)) or b""
                request = json.loads(data)
                if len(fds) != 3:
                    raise ValueError(f"expected 3 descriptors, got {len(fds)}")
            except (OSError, ValueError, struct.error):
                for fd in fds:
                    os.close(fd)
                conn.close()
                continue
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            pid = os.fork()
            if pid == 0:  # child
                server.close()
                conn.close()
                with contextlib.suppress(OSError):
                    os.setpgid(0, 0)
                os._exit(_run_child(request, fds))
            with contextlib.suppress(OSError):  # also here: no race with a kill of its group
                os.setpgid(pid, pid)
            for fd in fds:
                os.close(fd)
            children.add(pid)
            threading.Thread(
                target=_serve_one,
                args=(conn, pid, children, request["script"]),
                daemon=True,
            ).start()
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        for pid in list(children):  # a run that stops takes its unfinished jobs with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the Snakefile's side -------------------------------------------------------------------


def start(log: str | os.PathLike, timeout: float = 120.0) -> subprocess.Popen | None:
    """Start a server for this Snakemake process, export its socket to the jobs and wait until
    it serves; None (jobs run in their own processes) when switched off or it does not come up."""
    if os.environ.get(ENV, "").lower() in OFF:
        return None
    address = os.path.join(tempfile.gettempdir(), f"cftrain-forkserver-{os.getpid()}.sock")
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cftrain.forkserver", address, "--parent", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(address):
            os.environ[ENV] = address
            return proc
        time.sleep(0.05)
    proc.kill()
    return None


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a server started by `start` (its jobs have ended: Snakemake's onsuccess/onerror)."""
    if proc is None:
        return
    os.environ.pop(ENV, None)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


_RUN: dict[str, subprocess.Popen | None] = {}
LOG = ".snakemake/cftrain-forkserver.log"


def start_for_run(workflow) -> None:
    """The Snakefile's `onstart`: a server for runs whose jobs execute on this machine (the local
    executor); none for cluster executors, whose jobs run elsewhere, nor for touch runs."""
    local = bool(getattr(workflow, "local_exec", False))
    default_mode = not getattr(workflow, "remote_exec", False) and not getattr(
        workflow, "subprocess_exec", False
    )
    if local and default_mode and not getattr(workflow, "touch", False):
        import atexit

        _RUN["server"] = start(LOG)
        atexit.register(stop_for_run)


def stop_for_run() -> None:
    """The Snakefile's `onsuccess`/`onerror`: stop the run's server (its jobs have all ended)."""
    stop(_RUN.pop("server", None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("socket", help="Unix socket path to serve on")
    parser.add_argument("--parent", type=int, help="exit when this process ends")
    args = parser.parse_args(argv)
    serve(args.socket, args.parent)


if __name__ == "__main__":
    # Run as the importable module, not as `__main__`: the children's `delegate` calls read the
    # `_in_child` flag of `cftrain.forkserver`.
    from cftrain import forkserver

    forkserver.main()
