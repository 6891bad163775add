"""Performance benchmarks of cftrain (issue 7): one JSON object per line on stdout.

    python benchmarks/run.py            # everything, incl. the full reproductions (hours)
    python benchmarks/run.py --quick    # short version (< 5 minutes on 2 cores)
    python benchmarks/run.py --only search_speedup ct_run_moons

Each line: {"name", "value", "unit", "target", "ok", "detail"}. Ratios are measured side by side in
this one process. In-process benchmarks run on one thread (`torch.set_num_threads(1)`) and keep freed
memory for reuse as workflow jobs do (`cftrain.allocator`); timings are
the best of a few repeats because the machine may be shared. The library measured is `<repo>/src`
of the checkout given by `--repo` (default: the one holding this file), so two checkouts can be
compared with the same script. Machine facts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = (
    "search_speedup",
    "search_throughput",
    "ct_epoch_overhead",
    "ct_run_moons",
    "objective_epoch_time",
    "store_overhead",
    "job_startup",
    "workflow_quick",
    "reproduction_full",
    "reproduction_5seeds",
)
FULL_TIMEOUT_MIN = 25.0  # reproduction_full is stopped (and reported as partial) after this
FIVE_SEEDS_TIMEOUT_MIN = 180.0  # reproduction_5seeds likewise (issue 16: target < 60 min)
LONG = ("reproduction_full", "reproduction_5seeds")  # not in --quick


def emit(name: str, value: float, unit: str, target: str, ok: bool | None, detail: str) -> None:
    line = {"name": name, "value": round(float(value), 4), "unit": unit, "target": target}
    line |= {"ok": ok, "detail": detail}
    print(json.dumps(line), flush=True)


def best_of(repeats: int, fn) -> tuple[float, object]:
    """Smallest wall time of `repeats` calls of fn() and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        tic = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - tic)
    return best, out


def data_dir() -> Path:
    """$CFTRAIN_DATA_DIR, else ../shared/data beside the checkout holding this script."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("CFTRAIN_DATA_DIR", default))


def machine() -> dict:
    import torch

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"nproc": os.cpu_count(), "cpu": cpu, "torch": torch.__version__,
            "python": platform.python_version()}  # fmt: skip


# --- counterfactual search ------------------------------------------------------------------


def _search_case(d: int, k: int, n: int, seed: int = 0):
    """Glorot-initialised paper MLP (hidden 32), factuals in the domain box, targets ≠ prediction,
    and the dataset's mutability (tabular: first feature immutable; MNIST: the protected rows)."""
    import torch

    from cftrain.constraints import mutability_vector
    from cftrain.datasets.mnist import protected_pixels
    from cftrain.models import build_model

    model = build_model("mlp", d, k, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    if d == 784:
        x = torch.rand(n, d, generator=gen) * 2 - 1
        lower, upper = torch.full((d,), -1.0), torch.full((d,), 1.0)
        protected = protected_pixels()
    else:
        x = torch.randn(n, d, generator=gen).clamp(-3, 3)
        lower, upper = torch.full((d,), -3.0), torch.full((d,), 3.0)
        protected = [0]
    with torch.no_grad():
        predicted = model(x).argmax(1)
    target = (predicted + 1 + torch.randint(0, k - 1, (n,), generator=gen)) % k
    codes = torch.as_tensor(mutability_vector(d, protected))
    return model, x, target, {"mutability": codes, "lower": lower, "upper": upper}


def bench_search_speedup(quick: bool) -> None:
    import torch
    import torch.nn.functional as F

    from cftrain.generators import ECCo
    from cftrain.search import STEP_SIZE, search_counterfactuals

    n_one = 20 if quick else 100
    for label, d, k, n in [
        ("tabular MLP d=10 K=2", 10, 2, 5000),
        ("tabular MLP d=100 K=2", 100, 2, 5000),
        ("MNIST-size MLP d=784 K=10", 784, 10, 2500),
    ]:
        model, x, target, box = _search_case(d, k, n)
        kw = dict(step_size=STEP_SIZE, max_iter=30, tau=None, **box)
        gen = ECCo(lambda_cost=0.001, lambda_energy=5.0)
        batched, _ = best_of(3, lambda: search_counterfactuals(model, x, target, gen, **kw))  # noqa: B023

        def one_at_a_time():
            for i in range(n_one):
                search_counterfactuals(model, x[i : i + 1], target[i : i + 1], gen, **kw)  # noqa: B023

        def model_only():  # the part no search can avoid: forward and input gradient of CE
            s = x.detach().requires_grad_(True)  # noqa: B023
            loss = F.cross_entropy(model(s), target, reduction="sum")  # noqa: B023
            return torch.autograd.grad(loss, s)

        single, _ = best_of(2, one_at_a_time)
        floor, _ = best_of(5, model_only)
        per_batched, per_single = batched / n, single / n_one
        speedup = per_single / per_batched
        emit("search_speedup", speedup, "x", ">= 100", speedup >= 100,
             f"{label}, hidden 32, ECCo T=30 tau=None (every sample takes all 30 steps), "
             f"1 thread; batched: {n} factuals in {batched:.3f} s ({per_batched * 1e6:.1f} us "
             f"each); one at a time: first {n_one} of the same factuals, "
             f"{per_single * 1e3:.2f} ms each, scaled per factual; best of 3 / 2; the model's "
             f"forward and input gradient alone (batched, {n} rows): "
             f"{floor / n * 1e6:.2f} us per sample-step, {floor * 30 / batched:.0%} of the "
             f"batched search")  # fmt: skip


def bench_search_throughput(quick: bool) -> None:
    from cftrain.generators import ECCo
    from cftrain.search import search_counterfactuals

    n = 20_000 if quick else 50_000
    model, x, target, box = _search_case(10, 2, n, seed=1)
    gen = ECCo(lambda_cost=0.001, lambda_energy=5.0)
    seconds, res = best_of(
        3, lambda: search_counterfactuals(model, x, target, gen, max_iter=30, tau=None, **box)
    )
    rate = n / seconds
    emit("search_throughput", rate, "counterfactuals/s", ">= 50000", rate >= 50_000,
         f"tabular MLP d=10 K=2 hidden 32, ECCo, {n} factuals, T=30 with tau=None so every "
         f"sample takes all 30 steps (mean steps {float(res.steps.float().mean()):.1f}), "
         f"first feature immutable, domain box; 1 thread; best of 3: {seconds:.3f} s")  # fmt: skip


# --- CT training ----------------------------------------------------------------------------


def _moons():
    import torch

    from cftrain.datasets import prepare_dataset

    ds = prepare_dataset("moons", seed=42)
    t = torch.as_tensor
    return (t(ds.X_train), t(ds.y_train),
            {"lower": t(ds.lower), "upper": t(ds.upper), "mutability": None})  # fmt: skip


def _tabular():
    """GMSC (d=10, 12k training rows) if the raw data is there, else synthetic data of that shape."""
    import torch

    from cftrain.datasets import prepare_dataset

    t = torch.as_tensor
    try:
        ds = prepare_dataset("gmsc", seed=42, data_dir=data_dir())
        box = {"lower": t(ds.lower), "upper": t(ds.upper), "mutability": t(ds.mutability)}
        return t(ds.X_train), t(ds.y_train), box, f"gmsc ({len(ds.y_train)} training rows, d=10)"
    except Exception as err:  # noqa: BLE001 - fall back to synthetic data of the same shape
        gen = torch.Generator().manual_seed(42)
        x = torch.randn(12_371, 10, generator=gen)
        y = (x[:, :3].sum(1) + 0.5 * torch.randn(12_371, generator=gen) > 0).long()
        codes = torch.ones(10, dtype=torch.int8)
        codes[1] = 0
        box = {"lower": x.amin(0), "upper": x.amax(0), "mutability": codes}
        return x, y, box, f"synthetic gmsc-shaped data, 12371 x 10 (gmsc unavailable: {err})"


def _train(objective: str, x, y, box, epochs: int, **settings):
    """(seconds, training log); the log's `sweep_seconds` column is the time each epoch spent in
    the counterfactual sweep (0 without one), timed around `cftrain.training.counterfactual_sweep`."""
    import cftrain.training as training
    from cftrain.models import build_model

    cfg = training.TrainConfig(objective=objective, epochs=epochs, seed=2025, **settings)
    model = build_model("mlp", x.shape[1], int(y.max()) + 1, seed=2025)
    sweeps: list[float] = []
    sweep = training.counterfactual_sweep

    def timed_sweep(*args, **kwargs):
        tic = time.perf_counter()
        try:
            return sweep(*args, **kwargs)
        finally:
            sweeps.append(time.perf_counter() - tic)

    training.counterfactual_sweep = timed_sweep
    try:
        tic = time.perf_counter()
        _, log = training.train(model, x, y, cfg, **box)
        seconds = time.perf_counter() - tic
    finally:
        training.counterfactual_sweep = sweep
    log["sweep_seconds"] = [0.0] * (len(log) - len(sweeps)) + sweeps  # burn-in epochs: none
    return seconds, log


def bench_ct_epoch_overhead(quick: bool) -> None:
    epochs = 10 if quick else 20
    repeats = 1 if quick else 2
    x, y, box = _moons()
    tx, ty, tbox, tlabel = _tabular()
    cases = [
        ("moons (3000 training rows, d=2)", x, y, box,
         {"batch_size": 30, "n_ce": 1000, "max_iter": 30, "tau": 0.9, "lambda_reg": 0.25}),
        (tlabel, tx, ty, tbox,
         {"batch_size": 1000, "n_ce": 5000, "max_iter": 30, "tau": 0.5, "lambda_reg": 0.5}),
    ]  # fmt: skip
    for label, xs, ys, bx, settings in cases:
        means = {"vanilla": float("inf"), "full": float("inf")}
        logs = {}
        for _ in range(repeats):  # interleaved, best mean per objective
            for objective in means:
                _, log = _train(objective, xs, ys, bx, epochs, **settings)
                if log["seconds"].mean() < means[objective]:
                    means[objective], logs[objective] = float(log["seconds"].mean()), log
        ratio = means["full"] / means["vanilla"]
        ct = logs["full"]
        sweep = float(ct["sweep_seconds"].mean())
        rest = (means["full"] - sweep) / means["vanilla"]
        first = float(ct["seconds"].iloc[0]) / float(logs["vanilla"]["seconds"].iloc[0])
        last = float(ct["seconds"].iloc[-1]) / float(logs["vanilla"]["seconds"].iloc[-1])
        emit("ct_epoch_overhead", ratio, "x", "<= 3", ratio <= 3,
             f"{label}: mean CT epoch / mean vanilla epoch over a {epochs}-epoch run from "
             f"scratch ({means['full'] * 1e3:.1f} ms / {means['vanilla'] * 1e3:.1f} ms), "
             f"of which the counterfactual sweep {sweep * 1e3:.1f} ms ({sweep / means['full']:.0%}"
             f"; the CT epoch without it / vanilla = {rest:.2f}x), "
             f"paper settings {settings}; epoch 1 ratio {first:.2f}, epoch {epochs} ratio "
             f"{last:.2f}; CE search mean steps {ct['mean_steps'].iloc[0]:.1f} (epoch 1) -> "
             f"{ct['mean_steps'].iloc[-1]:.1f} (epoch {epochs}), mature "
             f"{ct['mature_share'].mean():.0%}; 1 thread, best of {repeats}")  # fmt: skip


def bench_ct_run_moons(quick: bool) -> None:
    x, y, box = _moons()
    settings = {"batch_size": 30, "n_ce": 1000, "max_iter": 30, "tau": 0.9, "lambda_reg": 0.25}
    seconds, log = _train("full", x, y, box, 100, **settings)
    emit("ct_run_moons", seconds, "s", "<= 10", seconds <= 10,
         f"one CT training run on moons, paper settings, 100 epochs, 1 thread (data prepared "
         f"beforehand); final train accuracy {log['train_accuracy'].iloc[-1]:.3f}, mean search "
         f"steps {log['mean_steps'].mean():.1f}")  # fmt: skip


# --- store ----------------------------------------------------------------------------------


def bench_objective_epoch_time(quick: bool) -> None:
    """Per-epoch wall time of every training objective on the same data and settings (issue 15):
    vanilla, CT (full), PGD-AT and JEM with the default config's objective parameters."""
    from cftrain.baselines import resolve_objective_params
    from cftrain.config import load_config

    epochs = 3 if quick else 5
    params = load_config(REPO / "config" / "config.yaml")["training"].get("objective_params", {})
    x, y, box = _moons()
    tx, ty, tbox, tlabel = _tabular()
    cases = [
        ("moons (3000 training rows, d=2)", x, y, box, {"batch_size": 30, "n_ce": 1000, "tau": 0.9}),
        (tlabel, tx, ty, tbox, {"batch_size": 1000, "n_ce": 5000, "tau": 0.5}),
    ]  # fmt: skip
    for label, xs, ys, bx, settings in cases:
        seconds = {}
        for objective in ("vanilla", "full", "pgd_at", "jem"):
            extra = {"objective_params": resolve_objective_params(objective, params.get(objective))}
            _, log = _train(objective, xs, ys, bx, epochs, **settings, **extra)
            seconds[objective] = float(log["seconds"].min())  # best epoch: the machine is shared
        for objective, value in seconds.items():
            emit("objective_epoch_time", value, "s", "report", None,
                 f"{label}: {objective}, best epoch of {epochs}, {value / seconds['vanilla']:.1f}x "
                 f"vanilla; settings {settings}, objective_params {params.get(objective, {})}; 1 thread")  # fmt: skip


def _store_sets():
    """Test-time counterfactual sets as the workflow writes them: moons 100 runs x 250 and MNIST
    100 runs x 25 individuals, from the real protocol on briefly trained models."""
    import torch

    from cftrain.datasets import prepare_dataset
    from cftrain.evaluation.protocol import test_time_counterfactuals
    from cftrain.models import build_model
    from cftrain.search import STEP_SIZE
    from cftrain.training import TrainConfig, train

    settings = {"seed": 42, "runs": 100, "lambda_cost": 0.0, "step_size": STEP_SIZE, "max_iter": 50}
    out = []
    for name, n_individuals, epochs, kwargs in [
        ("moons", 250, 5, {}),
        ("mnist", 25, 1, {"data_dir": data_dir(), "n_test": 2000}),
    ]:
        try:
            ds = prepare_dataset(name, seed=42, **kwargs)
        except Exception as err:  # noqa: BLE001 - MNIST raw data may be absent
            print(f"store_overhead: {name} skipped ({err})", file=sys.stderr)
            continue
        t = torch.as_tensor
        x, y, xt, yt = t(ds.X_train), t(ds.y_train), t(ds.X_test), t(ds.y_test)
        box = {"lower": t(ds.lower), "upper": t(ds.upper), "mutability": t(ds.mutability)}
        settings_ds = {**settings, "n_individuals": n_individuals}
        batch = 30 if name == "moons" else 1000
        model = build_model("mlp", x.shape[1], ds.n_classes, seed=2025)
        train(model, x, y, TrainConfig(objective="vanilla", epochs=epochs, batch_size=batch))
        cs, _ = test_time_counterfactuals(
            model, xt, yt, ds.n_classes, lambda_energy=5.0, settings=settings_ds,
            setting_index=3, train_seed=2025, tau=0.95, **box,
        )  # fmt: skip
        cs.attrs = {"generator": "ecco", "dataset": name, "objective": "vanilla", "seed": 2025,
                    "experiment": "bench", "lambda_energy": 5.0, "lambda_cost": 0.0,
                    "step_size": STEP_SIZE, "max_iter": 50, "tau": 0.95}  # fmt: skip
        out.append((name, cs))
    return out


def bench_store_overhead(quick: bool) -> None:
    import numpy as np

    from cftrain.store import REQUIRED, write_counterfactuals

    with tempfile.TemporaryDirectory() as tmp:
        for name, cs in _store_sets():
            arrays = [np.asarray(getattr(cs, k)).astype(dt) for k, (dt, _) in REQUIRED.items()]
            raw = sum(a.nbytes for a in arrays) + sum(
                np.asarray(a).nbytes for a in cs.extra.values()
            )
            sizes = {}
            for compression in (None, "gzip"):
                path = Path(tmp) / f"{name}-{compression}.h5"
                write_counterfactuals(path, cs, compression=compression)
                sizes[compression] = path.stat().st_size
            ratio, gz = sizes[None] / raw, sizes["gzip"] / raw
            n, d = cs.factual.shape
            emit("store_overhead", ratio, "file bytes / raw bytes", "<= 1.05", ratio <= 1.05,
                 f"{name} test-time file, {n} x {d} (factual + counterfactual float32 plus "
                 f"{len(REQUIRED) - 2 + len(cs.extra)} per-row arrays at their stored dtypes = "
                 f"{raw} raw bytes); file {sizes[None]} bytes; compression='gzip': "
                 f"{sizes['gzip']} bytes, ratio {gz:.3f}")  # fmt: skip


# --- workflow -------------------------------------------------------------------------------


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True,
                           text=True).stdout.splitlines()  # fmt: skip
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _snakemake(args: list[str], timeout_s: float) -> tuple[float, bool, str]:
    """Wall seconds of snakemake in a temporary copy of the tracked files; (seconds, finished, tail)."""
    with tempfile.TemporaryDirectory(prefix="cftrain-bench-") as tmp:
        _copy_repo(Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src"), "PYTHONHASHSEED": "0"}
        if data_dir().is_dir():
            env.setdefault("CFTRAIN_DATA_DIR", str(data_dir()))
        cmd = [sys.executable, "-m", "snakemake", *args]
        tic = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=timeout_s)
            finished, timed_out = proc.returncode == 0, False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)  # only the process group this benchmark started
            output, _ = proc.communicate()
            finished, timed_out = False, True
        seconds = time.perf_counter() - tic
        lines = output.splitlines()
        progress = [ln.strip() for ln in lines if re.search(r"\d+ of \d+ steps", ln)]
        errors = [ln.strip() for ln in lines if ln.startswith(("Error in rule", "ValueError"))]
        tail = progress[-1] if progress else "no job finished"
        if timed_out:
            tail += f"; stopped at the {timeout_s / 60:.0f}-minute limit"
        elif not finished:
            tail += "; failed: " + ("; ".join(dict.fromkeys(errors)) or "see the snakemake log")
        return seconds, finished, tail


JOB_SCRIPT = """\
from cftrain.forkserver import delegate

delegate(__file__)
from cftrain.steps.common import job_logging
from cftrain.steps.evaluate import evaluate_step
from cftrain.steps.train import train_step

with job_logging(None, 1):
    pass
"""


def bench_job_startup(quick: bool) -> None:
    """Issue 16: the fixed cost of one workflow job — a script shaped like workflow/scripts/*.py
    that imports its step modules and does nothing — in its own process vs forked by the fork
    server (cftrain.forkserver), measured alternately in one run."""
    from cftrain import forkserver

    n = 5 if quick else 10
    env = {k: v for k, v in os.environ.items() if k != forkserver.ENV}
    times: dict[str, list[float]] = {"own process": [], "fork server": []}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "job.py"
        script.write_text(JOB_SCRIPT)
        address = str(Path(tmp) / "s.sock")
        server = subprocess.Popen([sys.executable, "-m", "cftrain.forkserver", address],
                                  cwd=tmp, stdout=subprocess.DEVNULL, env=env)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(address) and time.monotonic() < deadline:
                time.sleep(0.05)
            for _ in range(n):
                for kind, extra in (
                    ("own process", {}),
                    ("fork server", {forkserver.ENV: address}),
                ):
                    tic = time.perf_counter()
                    subprocess.run([sys.executable, str(script)], cwd=tmp, env={**env, **extra},
                                   check=True, capture_output=True)  # fmt: skip
                    times[kind].append(time.perf_counter() - tic)
        finally:
            server.terminate()
            server.wait(timeout=10)
    own, forked = (min(times[k]) for k in ("own process", "fork server"))
    emit("job_startup", own / forked, "x", "report", None,
         f"fixed cost of one workflow job (python + its imports, no work): own process "
         f"{own:.2f} s, forked by the fork server {forked:.2f} s (best of {n}, alternating); "
         f"the default run has ~540 jobs")  # fmt: skip


def bench_workflow_quick(quick: bool) -> None:
    seconds, finished, tail = _snakemake(["--configfile", "config/quick.yaml", "--cores", "2"],
                                         timeout_s=600)  # fmt: skip
    emit("workflow_quick", seconds, "s", "report", finished,
         f"snakemake --configfile config/quick.yaml --cores 2 in a fresh copy of the tracked "
         f"files (git ls-files), cold (no results); {tail}")  # fmt: skip


def bench_reproduction_full(quick: bool) -> None:
    seconds, finished, tail = _snakemake(["--profile", "profiles/local"],
                                         timeout_s=FULL_TIMEOUT_MIN * 60)  # fmt: skip
    minutes = seconds / 60
    state = "complete" if finished else f"PARTIAL: stopped or failed after {minutes:.1f} min"
    emit("reproduction_full", minutes, "min", "< 60", finished and minutes < 60,
         f"snakemake --profile profiles/local (default config, {os.cpu_count()} cores) in a fresh "
         f"copy of the tracked files; {state}; {tail}")  # fmt: skip


def bench_reproduction_5seeds(quick: bool) -> None:
    """Issue 16: the default run plus the replication overlay (main and mutability at 5 seeds)."""
    seconds, finished, tail = _snakemake(
        ["--profile", "profiles/local", "--configfile", "config/replication.yaml"],
        timeout_s=FIVE_SEEDS_TIMEOUT_MIN * 60,
    )
    minutes = seconds / 60
    state = "complete" if finished else f"PARTIAL: stopped or failed after {minutes:.1f} min"
    emit("reproduction_5seeds", minutes, "min", "< 60", finished and minutes < 60,
         f"snakemake --profile profiles/local --configfile config/replication.yaml (default config "
         f"+ replication at 5 seeds, {os.cpu_count()} cores) in a fresh copy of the tracked files; "
         f"{state}; {tail}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    global REPO, FULL_TIMEOUT_MIN, FIVE_SEEDS_TIMEOUT_MIN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short version (< 5 min)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to benchmark")
    parser.add_argument("--full-timeout", type=float, default=FULL_TIMEOUT_MIN,
                        help="minutes after which reproduction_full is stopped, reported partial")  # fmt: skip
    parser.add_argument("--five-seeds-timeout", type=float, default=FIVE_SEEDS_TIMEOUT_MIN,
                        help="minutes after which reproduction_5seeds is stopped, reported partial")  # fmt: skip
    args = parser.parse_args(argv)
    REPO = args.repo.resolve()
    FULL_TIMEOUT_MIN = args.full_timeout
    FIVE_SEEDS_TIMEOUT_MIN = args.five_seeds_timeout
    sys.path.insert(0, str(REPO / "src"))  # measure this checkout's library, not an installed one
    import torch

    torch.set_num_threads(1)
    try:  # as every workflow job does (`job_logging`); absent from checkouts before issue 16
        from cftrain.allocator import retain_freed_memory
    except ImportError:
        retained = None
    else:
        retained = retain_freed_memory()
    facts = {"machine": machine(), "repo": str(REPO), "retain_freed_memory": retained}
    print(json.dumps(facts), file=sys.stderr)
    chosen = args.only or [b for b in BENCHMARKS if not (args.quick and b in LONG)]
    for name in chosen:
        globals()[f"bench_{name}"](args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
