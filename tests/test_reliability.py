"""Killed jobs, corrupt files, non-finite losses, determinism (issue 8)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from helpers import copy_repo, run_snakemake, shared_data_dir

import cftrain.training
from cftrain.config import load_config, run_spec_dict
from cftrain.datasets import prepare_dataset, read_dataset, write_dataset
from cftrain.evaluation.generative import read_samples
from cftrain.io import atomic_path
from cftrain.modelio import load_model, save_model
from cftrain.models import build_model
from cftrain.steps.common import job_logging
from cftrain.steps.train import load_vae, train_step
from cftrain.store import (
    CounterfactualSet,
    read_counterfactuals,
    read_ig_maps,
    read_surface,
    write_counterfactuals,
)
from cftrain.training import TrainConfig, TrainingError, load_checkpoint, train

MODEL_DIR = "results/models/main/moons/full/seed2025"


# --- corrupt and foreign files -----------------------------------------------------------------


def _small_dataset(tmp_path) -> Path:
    path = tmp_path / "moons.h5"
    write_dataset(prepare_dataset("moons", seed=1, n_train=60, n_val=20, n_test=20), path)
    return path


def _counterfactuals(tmp_path) -> Path:
    n, rng = 40, np.random.default_rng(0)
    cs = CounterfactualSet(
        factual=rng.normal(size=(n, 2)), counterfactual=rng.normal(size=(n, 2)),
        target=rng.integers(0, 2, n), factual_label=rng.integers(0, 2, n),
        converged=rng.random(n) > 0.5, steps=rng.integers(0, 30, n),
        attrs={"generator": "ecco", "dataset": "moons", "objective": "full", "seed": 1},
    )  # fmt: skip
    path = tmp_path / "egy1.h5"
    write_counterfactuals(path, cs)
    return path


@pytest.mark.parametrize("reader", ["counterfactuals", "dataset"])
@pytest.mark.parametrize("keep", [0.0, 0.05, 0.5, 0.95])
def test_truncated_hdf5_names_the_file(tmp_path, reader, keep):
    make, read = {
        "counterfactuals": (_counterfactuals, read_counterfactuals),
        "dataset": (_small_dataset, read_dataset),
    }[reader]
    data = make(tmp_path).read_bytes()
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"truncated\.h5: .*(HDF5|damaged)"):
        read(bad)


@pytest.mark.parametrize(
    "reader", [read_counterfactuals, read_dataset, read_surface, read_ig_maps, read_samples]
)
def test_foreign_hdf5_names_file_and_format(tmp_path, reader):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "someone.else/3"
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"foreign\.h5: format attribute is 'someone.else/3'"):
        reader(path)
    with h5py.File(path, "w") as f:  # no format attribute at all
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"foreign\.h5: format attribute is None, expected"):
        reader(path)


def test_dataset_with_mismatched_shapes_names_the_file(tmp_path):
    path = _small_dataset(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["y_val"]
        f.create_dataset("y_val", data=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"moons\.h5: X_val \(20, 2\) and y_val \(3,\)"):
        read_dataset(path)


def test_model_file_with_wrong_shapes_names_the_file(tmp_path):
    arch = {"name": "mlp", "n_features": 2, "n_classes": 2, "hidden": 32}
    path = tmp_path / "model.pt"
    save_model(path, build_model("mlp", 2, 2, hidden=16), arch)  # weights of another size
    with pytest.raises(ValueError, match=r"model\.pt: weights do not fit architecture"):
        load_model(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"model\.pt: not a readable cftrain model file"):
        load_model(path)


def test_model_files_refuse_pickled_objects(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"architecture": {}, "state_dict": {}, "payload": Path("x")}, path)
    with pytest.raises(ValueError, match=r"model\.pt: not a readable .*[Ww]eights only"):
        load_model(path)
    with pytest.raises(ValueError, match=r"model\.pt: not a readable cftrain VAE file"):
        load_vae(str(path))


def _moons_tensors(n=300):
    ds = prepare_dataset("moons", seed=42)
    return torch.as_tensor(ds.X_train[:n]), torch.as_tensor(ds.y_train[:n])


def test_checkpoint_of_another_architecture_names_the_file(tmp_path):
    x, y = _moons_tensors()
    cfg = TrainConfig(objective="vanilla", epochs=2, batch_size=50, seed=1)
    ckpt = tmp_path / "checkpoint.pt"
    train(build_model("mlp", 2, 2, hidden=16, seed=1), x, y, cfg, checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"checkpoint\.pt: checkpoint does not fit this model"):
        train(build_model("mlp", 2, 2, hidden=32, seed=1), x, y, cfg, checkpoint=ckpt)
    ckpt.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"checkpoint\.pt: not a readable cftrain checkpoint"):
        train(build_model("mlp", 2, 2, hidden=16, seed=1), x, y, cfg, checkpoint=ckpt)


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, caplog):
    x, y = _moons_tensors()
    cfg = TrainConfig(objective="vanilla", epochs=3, batch_size=50, seed=1)
    ckpt = tmp_path / "checkpoint.pt"
    train(build_model("mlp", 2, 2, seed=1), x, y, cfg, checkpoint=ckpt)
    other = TrainConfig(objective="vanilla", epochs=3, batch_size=50, seed=1, lr=0.01)
    fresh = train(build_model("mlp", 2, 2, seed=1), x, y, other)[0]
    with caplog.at_level(logging.INFO, logger="cftrain"):
        resumed, log = train(build_model("mlp", 2, 2, seed=1), x, y, other, checkpoint=ckpt)
    assert "is from other settings; starting from epoch 1" in caplog.text
    assert list(log["epoch"]) == [1, 2, 3]
    for a, b in zip(fresh.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_torch_files_are_byte_reproducible(tmp_path):
    model = build_model("mlp", 2, 2, seed=3)
    arch = {"name": "mlp", "n_features": 2, "n_classes": 2, "hidden": 32}
    save_model(tmp_path / "a.pt", model, arch)
    save_model(tmp_path / "b.pt", model, arch)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


# --- non-finite losses -------------------------------------------------------------------------


def _nan_every(k: int, monkeypatch):
    """Make every k-th call of the CT loss non-finite."""
    real, calls = cftrain.training.ct_loss, {"n": 0}

    def loss(*args, **kwargs):
        value, terms = real(*args, **kwargs)
        calls["n"] += 1
        return (value * float("nan") if calls["n"] % k == 0 else value), terms

    monkeypatch.setattr(cftrain.training, "ct_loss", loss)


def test_nonfinite_steps_are_skipped_and_counted(monkeypatch):
    x, y = _moons_tensors()
    _nan_every(10, monkeypatch)  # 10% of steps, 6 batches x 5 epochs = 30 steps -> 3 skipped
    cfg = TrainConfig(objective="vanilla", epochs=5, batch_size=50, seed=1, max_skipped_share=0.2)
    model, log = train(build_model("mlp", 2, 2, seed=1), x, y, cfg)
    assert log["skipped_steps"].sum() == 3
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_too_many_nonfinite_steps_fail_early(monkeypatch):
    x, y = _moons_tensors()
    _nan_every(10, monkeypatch)
    cfg = TrainConfig(objective="vanilla", epochs=50, batch_size=50, seed=1, max_skipped_share=0.05)
    with pytest.raises(TrainingError, match=r"16 of 300 planned optimiser steps .* by epoch 27"):
        train(build_model("mlp", 2, 2, seed=1), x, y, cfg)


def test_diverging_training_writes_no_model(tmp_path, monkeypatch):
    """Through the workflow step: a huge learning rate drives the loss to NaN; no model file."""
    data = _small_dataset(tmp_path)
    config = load_config(Path(__file__).parents[1] / "config" / "config.yaml")
    config["training"].update(epochs=5, lr=1e30)
    spec = run_spec_dict(config, "main", "moons", "vanilla", 1)
    out = tmp_path / "run"
    with pytest.raises(TrainingError, match="non-finite loss"):
        with job_logging(out / "train.log"):
            train_step(spec, str(data), str(out / "model.pt"), str(out / "log.csv"),
                       str(out / "config.yaml"), str(out / "checkpoint.pt"))  # fmt: skip
    assert not (out / "model.pt").exists() and not (out / "log.csv").exists()
    text = (out / "train.log").read_text()
    assert "skipped 1" in text or "skipped 2" in text
    assert "no model written" in text
    for handler in logging.getLogger().handlers:
        handler.close()
    logging.getLogger().handlers.clear()


# --- killed training resumes through the workflow ---------------------------------------------


def _snakemake_cmd(*args):
    return [sys.executable, "-m", "snakemake", *args]


def _env():
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # as helpers.run_snakemake
    if shared_data_dir():
        env.setdefault("CFTRAIN_DATA_DIR", str(shared_data_dir()))
    return env


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


TRAIN_OVERLAY = "training: {epochs: 30}\ndatasets: {moons: {n_ce: 400}}\n"


@pytest.mark.slow
def test_killed_training_resumes_to_identical_outputs(tmp_path):
    target = f"{MODEL_DIR}/model.pt"
    runs = {}
    for name in ("killed", "straight"):
        runs[name] = copy_repo(tmp_path / name)
        (runs[name] / "overlay.yaml").write_text(TRAIN_OVERLAY)
    args = ("--configfile", "overlay.yaml", "--cores", "1", target)

    straight = subprocess.Popen(
        _snakemake_cmd(*args), cwd=runs["straight"], env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    work = runs["killed"]
    proc = subprocess.Popen(
        _snakemake_cmd(*args), cwd=work, env=_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ckpt, epoch, deadline = work / MODEL_DIR / "checkpoint.pt", 0, time.time() + 180
    while epoch < 5:
        assert proc.poll() is None and time.time() < deadline, "training ended before the kill"
        if ckpt.exists():
            epoch = int(load_checkpoint(ckpt)["epoch"])
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    while not _group_gone(proc.pid) and time.time() < deadline:
        time.sleep(0.05)
    killed_at = int(load_checkpoint(ckpt)["epoch"])
    assert 5 <= killed_at < 30 and not (work / target).exists()

    # The documented recovery: unlock the stale lock, rerun the incomplete job.
    assert run_snakemake(work, "--unlock", *args[:2]).returncode == 0
    rerun = run_snakemake(work, *args, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    job_log = (work / "results/logs/train/main/moons/full/seed2025.log").read_text()
    assert f"resuming from epoch {killed_at + 1}" in job_log
    assert f"INFO epoch {killed_at + 1} " in job_log and "INFO epoch 1 " not in job_log
    assert not ckpt.exists()

    assert straight.wait(timeout=300) == 0
    ref = runs["straight"] / MODEL_DIR
    a = torch.load(work / target, weights_only=True)
    b = torch.load(ref / "model.pt", weights_only=True)
    assert a["architecture"] == b["architecture"]
    for key, value in b["state_dict"].items():
        assert torch.equal(a["state_dict"][key], value), key
    assert (work / target).read_bytes() == (ref / "model.pt").read_bytes()
    logs = [
        pd.read_csv(p / "training_log.csv").drop(columns="seconds") for p in (work / MODEL_DIR, ref)
    ]
    pd.testing.assert_frame_equal(*logs, check_exact=True)
    assert (work / MODEL_DIR / "config.yaml").read_bytes() == (ref / "config.yaml").read_bytes()


# --- determinism of the workflow ------------------------------------------------------------

# The quick config's main/moons slice: data, both models, their counterfactuals, scores, surfaces.
COMPARED = ("results/data/*.h5", "results/models/**/model.pt", "results/models/**/config.yaml",
            "results/counterfactuals/**/*.h5", "results/examples/**/*.h5", "results/evaluation/**/*.h5",
            "results/evaluation/**/*.csv", "results/tables/*.csv", "results/tables/*.tex")  # fmt: skip
TIMED = {"results/tables/training_logs.csv"}  # has a `seconds` column, compared without it


def _result_files(root: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob(pattern))}


@pytest.mark.slow
def test_quick_config_twice_gives_identical_files(quick_run, second_quick_run):
    """The quick config run a second time, in another copy (through SLURM when the SLURM test ran
    it in this session): byte-identical HDF5 files, models, per-run CSVs and tables (the session's
    first quick run is the reference)."""
    second, kind = second_quick_run
    roots = [quick_run, second]
    first = quick_run
    for pattern in COMPARED:
        a, b = _result_files(first, pattern), _result_files(second, pattern)
        assert a.keys() == b.keys(), pattern
        for rel in a:
            if rel in TIMED:
                continue
            if kind == "slurm" and rel.endswith(".pt"):
                _assert_same_state(first / rel, second / rel)
            else:
                assert a[rel] == b[rel], f"{rel} differs between two runs ({kind})"
    assert _result_files(first, "results/counterfactuals/**/*.h5"), "nothing compared"
    assert len(_result_files(first, "results/tables/*.csv")) >= 8, "tables missing"
    for p in [
        *first.glob("results/models/**/training_log.csv"),
        first / "results/tables/training_logs.csv",
    ]:
        pd.testing.assert_frame_equal(
            pd.read_csv(p).drop(columns="seconds"),
            pd.read_csv(second / p.relative_to(first)).drop(columns="seconds"),
        )
    for root in roots:
        assert not list((root / "results").rglob(".*.tmp")), "temporary files left behind"


def _assert_same_state(a: Path, b: Path) -> None:
    """Model files of a SLURM job against the local ones: equal architecture and tensors."""
    x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert x.keys() == y.keys() and x["architecture"] == y["architecture"], a
    for key, value in x["state_dict"].items():
        assert torch.equal(value, y["state_dict"][key]), f"{a}: {key}"
