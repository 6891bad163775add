"""The DelftBlue profile against a real (local, single-node) SLURM.

`tests/slurm/local_slurm.sh` starts slurmctld/slurmd/munge with a node the size of a DelftBlue
node; the workflow then runs through `--profile profiles/delftblue --profile profiles/slurm-test`
exactly as on the cluster. Needs root and the Debian packages of `.ci/slurm-setup.sh`; skipped
otherwise (a failure with CI=true). Notes behind the setup: /work/shared/docs/snakemake-slurm.md §2.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SECOND_RUN
from helpers import copy_repo, shared_data_dir, skip_or_fail

from cftrain.resources import size_class

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
LOCAL_SLURM = REPO / "tests" / "slurm" / "local_slurm.sh"
PROFILES = ["--profile", "profiles/delftblue", "--profile", "profiles/slurm-test"]
# Rules that must run on the submit host (`localrule: True`), never as SLURM jobs: the cheap ones,
# and fetch_raw (compute nodes often have no network; it runs when no data folder is given).
CHEAP_RULE = re.compile(r"^(all|collect|table|figure_.*|fetch_raw)$")
# Rules the delftblue profile packs into group jobs (its `groups:` key).
GROUPED_RULES = set(yaml.safe_load((REPO / "profiles/delftblue/config.yaml").read_text())["groups"])
# Outputs that legitimately differ between two runs: wall-clock columns and PDF timestamps.
TIMING_COLUMNS = {"seconds"}
SNAKEMAKE_TIMEOUT = 1500  # seconds; a job stuck PENDING would otherwise hang the test forever


def _slurm_running() -> bool:
    out = subprocess.run([LOCAL_SLURM, "status"], capture_output=True, text=True).stdout
    return " running" in out


@pytest.fixture(scope="session")
def local_slurm():
    """A running local SLURM for the session: started here and stopped (by PID) afterwards.

    A cluster already started with `tests/slurm/local_slurm.sh start` is reused and left running.
    """
    if shutil.which("slurmctld") is None or shutil.which("slurmd") is None:
        skip_or_fail("SLURM is not installed (slurmctld/slurmd missing; run .ci/slurm-setup.sh)")
    if os.geteuid() != 0:
        skip_or_fail("the local SLURM cluster needs root (daemons, /etc/slurm/slurm.conf)")
    if _slurm_running():
        yield
        return
    start = subprocess.run([LOCAL_SLURM, "start"], capture_output=True, text=True, timeout=120)
    if start.returncode != 0:
        subprocess.run([LOCAL_SLURM, "stop"], capture_output=True, text=True)
        pytest.fail(f"local SLURM did not start:\n{start.stdout}\n{start.stderr}")
    try:
        yield
    finally:
        stop = subprocess.run([LOCAL_SLURM, "stop"], capture_output=True, text=True, timeout=120)
        assert stop.returncode == 0, stop.stderr


def _env(workdir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SNAKEMAKE_PROFILE", None)
    if shared_data_dir():
        env.setdefault("CFTRAIN_DATA_DIR", str(shared_data_dir()))
    if workdir is not None:
        # Jobs import cftrain from the copy under test (sbatch --export=ALL passes this on).
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(workdir / "src"), env.get("PYTHONPATH")) if p
        )
    return env


def _snakemake(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    log = open(workdir / "snakemake.log", "w")  # noqa: SIM115 - closed by _finish
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "none", *args]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _finish(proc: subprocess.Popen, workdir: Path) -> str:
    try:
        proc.wait(timeout=SNAKEMAKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()  # type: ignore[attr-defined]
    text = (workdir / "snakemake.log").read_text()
    assert proc.returncode == 0, f"snakemake failed in {workdir}:\n{text[-6000:]}"
    return text


_JOB_BLOCK = re.compile(r"^\s*(localrule|rule) (\w+):\n((?:[ \t]+\S.*\n)*)", re.MULTILINE)


def _jobs(log: str, kind: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every `rule X:` or `localrule X:` block in a Snakemake log."""
    jobs = []
    for found_kind, rule, body in _JOB_BLOCK.findall(log):
        if found_kind == kind:
            wildcards = re.search(r"^\s+wildcards: (.*)$", body, re.MULTILINE)
            jobs.append((rule, wildcards.group(1) if wildcards else ""))
    return jobs


def _slurm_jobs(workdir: Path) -> dict[str, list[tuple[str, str]]]:
    """SLURM job id -> the Snakemake jobs that actually executed inside it (from its log)."""
    logs = sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    return {log.stem: _jobs(log.read_text(), "localrule") for log in logs}


def _squeue(job_ids) -> dict[str, tuple[str, str]]:
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i %P %T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {i: (p, s) for i, p, s in (line.split() for line in out.splitlines())}


def _assert_same_h5(a: Path, b: Path) -> None:
    def walk(x, y, path):
        assert dict(x.attrs).keys() == dict(y.attrs).keys(), f"{a}:{path} attrs"
        for key, value in x.attrs.items():
            np.testing.assert_array_equal(value, y.attrs[key], err_msg=f"{a}:{path}@{key}")
        if isinstance(x, h5py.Dataset):
            np.testing.assert_array_equal(x[()], y[()], err_msg=f"{a}:{path}")
            return
        assert sorted(x) == sorted(y), f"{a}:{path} members"
        for name in x:
            walk(x[name], y[name], f"{path}/{name}")

    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        walk(fa, fb, "")
    assert a.read_bytes() == b.read_bytes(), f"{a}: datasets equal but bytes differ"


def _assert_same_csv(a: Path, b: Path) -> None:
    da, db = pd.read_csv(a), pd.read_csv(b)
    timing = sorted(TIMING_COLUMNS & set(da.columns))
    pd.testing.assert_frame_equal(
        da.drop(columns=timing), db.drop(columns=timing), check_exact=True
    )
    if not timing:
        assert a.read_bytes() == b.read_bytes(), f"{a}: numbers equal but bytes differ"


def _assert_same_torch(a: Path, b: Path) -> None:
    import torch

    def same(x, y, path):
        if isinstance(x, torch.Tensor):
            assert torch.equal(x, y), f"{a}:{path}"
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), f"{a}:{path}"
            for key in x:
                same(x[key], y[key], f"{path}/{key}")
        else:
            assert x == y, f"{a}:{path}"

    # Bytes differ: torch.save writes a random serialization id into every archive.
    same(torch.load(a, weights_only=False), torch.load(b, weights_only=False), "")


def _compare_results(slurm_dir: Path, local_dir: Path) -> list[str]:
    def outputs(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in (root / "results").rglob("*")
            if p.is_file() and not {"logs", "benchmarks"} & set(p.relative_to(root).parts)
        }

    names = outputs(slurm_dir)
    assert names == outputs(local_dir), "SLURM and local runs made different files"
    compared = []
    for name in sorted(names):
        a, b = slurm_dir / name, local_dir / name
        suffix = a.suffix
        if suffix == ".h5":
            _assert_same_h5(a, b)
        elif suffix == ".csv":
            _assert_same_csv(a, b)
        elif suffix == ".pt":
            _assert_same_torch(a, b)
        elif suffix == ".pdf":
            continue  # matplotlib stamps CreationDate into PDFs
        else:
            assert a.read_bytes() == b.read_bytes(), f"{name} differs"
        compared.append(name)
    return compared


def test_quick_config_on_slurm_matches_local_run(local_slurm, quick_run, tmp_path_factory):
    """The quick config through the DelftBlue profile: every cluster job ran inside SLURM, cheap
    rules ran locally, evaluation jobs were packed into group jobs, and every table, tensor and
    figure equals that of the session's plain local run (`quick_run`, `--cores 2`)."""
    started = time.monotonic()
    slurm_dir = copy_repo(tmp_path_factory.mktemp("slurm-run"))
    local_dir = quick_run
    quick = ["--configfile", "config/quick.yaml"]
    on_slurm = _snakemake(slurm_dir, *quick, *PROFILES, env=_env(slurm_dir))
    controller_log = _finish(on_slurm, slurm_dir)
    SECOND_RUN["slurm"] = slurm_dir  # the determinism test reuses this run (tests/conftest.py)
    # The local run's first Snakemake log is the full quick run (later ones re-render figures).
    local_log = sorted((local_dir / ".snakemake" / "log").glob("*.snakemake.log"))[0].read_text()

    submitted = _jobs(controller_log, "rule")
    ran_locally = _jobs(controller_log, "localrule")
    assert sorted(submitted + ran_locally) == sorted(_jobs(local_log, "localrule")), (
        "the SLURM and the local run planned different DAGs"
    )
    slurm_jobs = _slurm_jobs(slurm_dir)
    n_submitted = len(re.findall(r"has been submitted with SLURM jobid", controller_log))
    assert len(slurm_jobs) == n_submitted > 0

    # Every job meant for the cluster executed inside exactly one SLURM job.
    executed = [job for jobs in slurm_jobs.values() for job in jobs]
    assert sorted(executed) == sorted(submitted)
    # Cheap rules stay on the submit host; everything else goes to SLURM.
    assert {rule for rule, _ in ran_locally} == {
        rule for rule, _ in _jobs(local_log, "localrule") if CHEAP_RULE.match(rule)
    }
    assert not [rule for rule, _ in submitted if CHEAP_RULE.match(rule)]
    # Ungrouped rules: one SLURM job per Snakemake job; grouped ones share SLURM jobs.
    per_rule = defaultdict(int)
    for job_id, jobs in slurm_jobs.items():
        rules = {rule for rule, _ in jobs}
        assert jobs, f"SLURM job {job_id} ran no Snakemake job"
        if len(jobs) > 1:
            assert rules <= GROUPED_RULES, f"SLURM job {job_id} mixed {rules}"
        for rule in rules:
            per_rule[rule] += 1
    for rule, _ in submitted:
        if rule not in GROUPED_RULES:
            assert per_rule[rule] == sum(r == rule for r, _ in submitted)
    n_grouped = sum(rule in GROUPED_RULES for rule, _ in submitted)
    n_group_jobs = sum(bool({r for r, _ in jobs} & GROUPED_RULES) for jobs in slurm_jobs.values())
    assert n_group_jobs < n_grouped, "evaluation jobs were not packed into group jobs"
    # SLURM's own records: all of them finished, on the partitions the profile asked for.
    records = _squeue(slurm_jobs)
    assert set(records) == set(slurm_jobs)
    assert {state for _, state in records.values()} == {"COMPLETED"}
    assert {partition for partition, _ in records.values()} <= {"compute", "memory", "gpu-a100"}
    # The profile's mapping of needs to partitions (CPU config): search/evaluation jobs of a large
    # dataset (cftrain.resources.size_class) on `memory`, every other job on `compute`.
    for job_id, jobs in slurm_jobs.items():
        large = any(
            rule in GROUPED_RULES
            and size_class(re.search(r"dataset=(\w+)", wc).group(1)) == "large"
            for rule, wc in jobs
        )
        assert records[job_id][0] == ("memory" if large else "compute"), (job_id, jobs)

    compared = _compare_results(slurm_dir, local_dir)
    assert any(name.endswith(".h5") for name in compared)
    assert any(name.endswith(".csv") for name in compared)
    print(
        f"\nquick config: {n_submitted} SLURM jobs for {len(submitted)} cluster + "
        f"{len(ran_locally)} local Snakemake jobs; {len(compared)} outputs equal; "
        f"{time.monotonic() - started:.0f} s"
    )


RETRY_SNAKEFILE = r'''
from cftrain.resources import grow


rule flaky:
    output:
        "flaky.txt",
    resources:
        mem_mb=grow(500),
        runtime=grow(5),
    shell:
        # Record what SLURM granted this attempt; fail the first one.
        r"""
        scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | grep -E '^(JobId|TimeLimit|MinMemoryNode)=' | paste -sd ' ' >> attempts.txt
        [ "$(wc -l < attempts.txt)" -ge 2 ] || exit 1
        echo ok > {output}
        """
'''


def _minutes(limit: str) -> int:
    """SLURM TimeLimit ([days-]hh:mm:ss) in minutes."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


def test_failed_job_is_resubmitted_with_more_memory_and_time(local_slurm, tmp_path):
    """A job failing on attempt 1 comes back (retries from the profile) with the memory and
    runtime that cftrain.resources.grow gives attempt 2: the same helper the workflow uses."""
    from cftrain.resources import scaled  # the helper the workflow's rules size themselves with

    workdir = tmp_path
    (workdir / "Snakefile").write_text(RETRY_SNAKEFILE)
    shutil.copytree(REPO / "profiles", workdir / "profiles")
    proc = _snakemake(workdir, *PROFILES, env=_env())
    log = _finish(proc, workdir)
    assert "Trying to restart job" in log

    attempts = [
        dict(field.split("=", 1) for field in line.split())
        for line in (workdir / "attempts.txt").read_text().splitlines()
    ]
    assert len(attempts) == 2, attempts
    first, second = attempts
    assert first["JobId"] != second["JobId"], "the retry must be a new SLURM job"
    assert [a["MinMemoryNode"] for a in attempts] == [f"{scaled(500, n)}M" for n in (1, 2)]
    assert [_minutes(a["TimeLimit"]) for a in attempts] == [scaled(5, n) for n in (1, 2)]
