"""The workflow end to end on the quick config (foundation issue): outputs exist and are sane."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from helpers import REPO, copy_repo, run_snakemake

from cftrain.config import load_config
from cftrain.store import FORMAT, read_counterfactuals
from cftrain.workflow import FIGURES, TABLES, figure_wanted

pytestmark = pytest.mark.slow


def test_quick_outputs_follow_contracts(quick_run):
    cf_files = sorted((quick_run / "results" / "counterfactuals").rglob("*.h5"))
    assert cf_files, "no counterfactual files written"
    for path in cf_files:
        cs = read_counterfactuals(path)
        with h5py.File(path) as f:
            assert f.attrs["format"] == FORMAT
            for key in ("generator", "dataset", "objective", "seed", "lambda_energy", "max_iter"):
                assert key in f.attrs
            assert f["factual"].dtype == np.float32 and f["counterfactual"].dtype == np.float32
            assert f["target"].dtype == np.int64 and f["factual_label"].dtype == np.int64
            assert f["converged"].dtype == np.bool_ and f["steps"].dtype == np.int32
            assert "path" not in f  # no search path stored
        assert len(cs) > 0 and cs.factual.shape == cs.counterfactual.shape
        assert (cs.steps <= cs.attrs["max_iter"]).all()

    table = pd.read_csv(quick_run / "results" / "tables" / "counterfactual_metrics.csv")
    assert set(table["objective"]) == {"vanilla", "full"}
    assert table["validity"].between(0, 1).all()
    assert table["validity"].mean() > 0.5
    assert (table["cost"].dropna() > 0).all() and (table["ip"].dropna() > 0).all()
    assert (table["ip_star"].dropna() >= 0).all()
    for ext in ("png", "pdf"):
        assert (
            quick_run / "results" / "figures" / f"moons_ce_examples.{ext}"
        ).stat().st_size > 10_000
    history = pd.read_csv(next((quick_run / "results" / "models").rglob("full/*/training_log.csv")))
    assert {"train_accuracy", "val_accuracy", "loss_div", "mature_share", "mean_steps"} <= set(
        history.columns
    )
    assert history["val_accuracy"].iloc[-1] > 0.8


def test_rerun_one_figure_only(quick_run):
    fig = quick_run / "results" / "figures" / "moons_ce_examples.png"
    fig.unlink()
    proc = run_snakemake(
        quick_run,
        "--configfile",
        "config/quick.yaml",
        "--cores",
        "1",
        "-n",
        str(fig.relative_to(quick_run)),
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "figure_moons_ce_examples" in out
    for rule in ("train ", "counterfactuals", "prepare_data", "evaluate"):
        assert (
            f"rule {rule}" not in out and f"{rule.strip()}  " not in out.split("Job stats:")[-1]
        ), out


def test_lint_is_clean(tmp_path):
    work = copy_repo(tmp_path)
    proc = run_snakemake(work, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_repo_has_design_card():
    for rel in ("Snakefile", "workflow/schemas/config.schema.yaml", "config/config.yaml", "config/quick.yaml",
                "envs/cftrain.yaml", "profiles/local/config.yaml", "results/README.md"):  # fmt: skip
        assert (REPO / rel).is_file(), rel
