"""The workflow end to end on the quick config (foundation and evaluation issues)."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from helpers import REPO, copy_repo, run_snakemake
from imagecheck import assert_drawn

from cftrain.config import load_config, targets
from cftrain.datasets import read_dataset
from cftrain.modelio import load_model
from cftrain.store import FORMAT, read_counterfactuals
from cftrain.workflow import COLLECTED, FIGURES, TABLES, all_targets, figure_wanted

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
    assert {"vanilla", "full"} <= set(table["objective"])
    assert table["validity"].between(0, 1).all()
    assert table["validity"].mean() > 0.5
    assert (table["cost"].dropna() > 0).all() and (table["ip"].dropna() > 0).all()
    assert (table["ip_star"].dropna() >= 0).all()
    history = pd.read_csv(next((quick_run / "results" / "models").rglob("full/*/training_log.csv")))
    expected = {"train_accuracy", "val_accuracy", "loss_div", "mature_share", "mean_steps"}
    assert expected <= set(history.columns)


def test_quick_run_forks_every_job_from_its_fork_server(quick_run):
    """A local run's jobs are forked by the run's fork server (cftrain.forkserver), all of them
    (one `job … exit 0` line per script job, no failed one), and the server ended with the run."""
    log = (quick_run / ".snakemake" / "cftrain-forkserver.log").read_text()
    jobs = re.findall(r"^job \d+ exit (-?\d+) in [\d.]+ s: .*\.(\w+)\.py$", log, re.M)
    rules = {rule for _, rule in jobs}
    assert {code for code, _ in jobs} == {"0"}, log[-3000:]
    assert {"prepare_data", "train", "counterfactuals", "evaluate", "figure", "table"} <= rules
    # Every script job of the run: `all` and the collect rules are not scripts.
    scripts = len(list((quick_run / "results" / "logs").rglob("*.log")))
    assert len(jobs) >= 0.9 * scripts > 100, (len(jobs), scripts)
    socket = re.search(r"^serving on (\S+) ", log, re.M).group(1)
    assert not Path(socket).exists(), "the server outlived its run"


def test_quick_produces_every_table_and_figure(quick_run):
    config = load_config(quick_run / "config" / "config.yaml", quick_run / "config" / "quick.yaml")
    for name in FIGURES:
        assert figure_wanted(config, name), f"quick config does not cover figure {name}"
        figure = quick_run / "results" / "figures" / name
        assert_drawn(figure.with_suffix(".png"), figure.with_suffix(".pdf"))
    for name in TABLES:
        for ext in ("csv", "tex"):
            assert (quick_run / "results" / "tables" / f"{name}.{ext}").stat().st_size > 0, name
    main = pd.read_csv(quick_run / "results" / "tables" / "main.csv")
    assert {"ip", "ip_star", "cost"} <= set(main["metric"])
    assert "Avg." in set(main["dataset"])
    assert set(config["experiments"]["main"]["datasets"]) <= set(main["dataset"])
    perf = pd.read_csv(quick_run / "results" / "tables" / "performance.csv")
    clean = perf[perf["attack"] == "none"]
    # Replicate experiments (issue 16) are scored for the replication table only.
    assert len(clean) == len([t for t in targets(config) if not t[0].startswith("replication_")])
    # Each clean accuracy is that of the stored model on the stored test split, and better than
    # always predicting the most frequent test class (a broken model or evaluation fails here).
    for row in clean.itertuples():
        ds = read_dataset(quick_run / "results" / "data" / f"{row.dataset}.h5")
        model_dir = f"results/models/{row.experiment}/{row.dataset}/{row.objective}/seed{row.seed}"
        model = load_model(quick_run / model_dir / "model.pt")
        with torch.no_grad():
            pred = model(torch.as_tensor(ds.X_test)).argmax(1).numpy()
        assert row.accuracy == pytest.approx(float((pred == ds.y_test).mean()), abs=1e-12), row
        majority = np.bincount(ds.y_test).max() / len(ds.y_test)
        if row.objective != "jem":  # JEM's generative term can hold GMSC at chance in 5 epochs
            assert row.accuracy > majority + 0.03, row
    robust = perf[perf["attack"].isin(["fgsm", "pgd"])]
    assert set(robust["experiment"]) == {"ablation", "baselines"}
    keys = ["experiment", "dataset", "objective", "seed"]
    at_zero = robust[robust["eps"] == 0].merge(clean[[*keys, "accuracy"]], on=keys)
    assert len(at_zero) and (at_zero["accuracy_x"] == at_zero["accuracy_y"]).all()
    ig = pd.read_csv(quick_run / "results" / "tables" / "ig.csv")
    # 2-D data are standardised as |g| / (max g - min g), which can exceed 1 (method.md §6.2).
    assert (ig["median"] >= 0).all()
    assert ig.loc[ig["dataset"] == "mnist", "median"].between(0, 1).all()


def test_quick_replication_pairs_seeds_and_repeats_the_single_seed_run(quick_run):
    """Issue 16: replicates at two seeds; moons drawn again at data seed 43, gmsc (real) not."""
    from cftrain.replication import per_seed, t_interval

    results = quick_run / "results"
    main = read_dataset(results / "data" / "moons.h5")
    seeded = read_dataset(results / "data" / "dataseed43" / "moons.h5")
    assert main.X_train.shape == seeded.X_train.shape
    assert not np.array_equal(main.X_train, seeded.X_train)
    assert not (results / "data" / "dataseed43" / "gmsc.h5").exists()
    # The replicate at (seed 2025, data seed 42) is the single-seed run (same seeds and data ⇒
    # same bytes): not trained again, collected from main's and mutability's files under the
    # replicate's name (cftrain.experiments.shared_with).
    collected = pd.read_csv(results / "tables" / "replication_metrics.csv")
    others = pd.read_csv(results / "tables" / "counterfactual_metrics.csv")
    for repeated, dataset in [("main", "moons"), ("main", "gmsc"), ("mutability", "moons")]:
        replicate = f"replication_{repeated}"
        assert not (results / "models" / replicate / dataset / "full" / "seed2025").exists()
        assert (
            results / "models" / replicate / dataset / "full" / "seed2026" / "model.pt"
        ).exists()
        rows = collected[(collected["experiment"] == replicate) & (collected["dataset"] == dataset)]
        single = others[
            (others["experiment"] == repeated)
            & (others["dataset"] == dataset)
            & (others["seed"] == 2025)
        ]
        at_2025 = rows[rows["seed"] == 2025].drop(columns="experiment").reset_index(drop=True)
        pd.testing.assert_frame_equal(
            at_2025, single.drop(columns="experiment").reset_index(drop=True)
        )
        assert sorted(set(rows["seed"])) == [2025, 2026]
    table = pd.read_csv(results / "tables" / "replication.csv")
    assert set(zip(table["dataset"], table["metric"], strict=True)) == {
        ("moons", "ip"),
        ("moons", "ip_star"),
        ("gmsc", "ip"),
        ("gmsc", "ip_star"),
        ("moons", "cost"),
    }
    assert (table["n_seeds"] == 2).all()
    seeds = per_seed(pd.read_csv(results / "tables" / "replication_metrics.csv"))
    single = pd.read_csv(results / "tables" / "main.csv")
    for row in table.itertuples():
        values = seeds[(seeds["dataset"] == row.dataset) & (seeds["metric"] == row.metric)]
        assert sorted(values["seed"]) == [2025, 2026]
        mean, _, lower, upper = t_interval(values["reduction"])
        assert (row.mean, row.lower, row.upper) == pytest.approx((mean, lower, upper))
        ref = single[(single["dataset"] == row.dataset) & (single["metric"] == row.metric)][
            "reduction"
        ]
        assert row.single_seed == pytest.approx(float(ref.iloc[0]))
        # The 2025 replicate is the single-seed run: its reduction is the single-seed value.
        same = values[values["seed"] == 2025]["reduction"].iloc[0]
        assert same == pytest.approx(row.single_seed)


def test_quick_monotone_counterfactuals_move_one_way(quick_run):
    """Issue 16: every pixel of every monotone counterfactual (test time and figure grid) moves
    only in the experiment's direction, and some pixels do move."""
    for experiment, sign in (("monotone_increase", 1.0), ("monotone_decrease", -1.0)):
        files = sorted((quick_run / "results" / "counterfactuals" / experiment).rglob("*.h5"))
        files += sorted((quick_run / "results" / "examples" / experiment).rglob("grid.h5"))
        assert len(files) == 2 * 2 + 2, files  # 2 models × 2 energy weights, 2 grids
        for path in files:
            cs = read_counterfactuals(path)
            delta = sign * (cs.counterfactual - cs.factual)
            assert (delta >= 0).all(), path
            assert delta.max() > 0, path
    metrics = pd.read_csv(quick_run / "results" / "tables" / "counterfactual_metrics.csv")
    assert {"monotone_increase", "monotone_decrease"} <= set(metrics["experiment"])


def test_quick_produces_the_baselines_artifacts(quick_run):
    """Issue 15: the baselines slice of the quick config — its table with every objective and
    metric, its three figures, generative capacity per model and class, the objectives' logs."""
    config = load_config(quick_run / "config" / "config.yaml", quick_run / "config" / "quick.yaml")
    exp = config["experiments"]["baselines"]
    results = quick_run / "results"
    for name in ("baselines_robustness", "baselines_plausibility", "baselines_samples"):
        assert_drawn(results / "figures" / f"{name}.png", results / "figures" / f"{name}.pdf")
    table = pd.read_csv(results / "tables" / "baselines.csv")
    assert set(table["objective"]) == {"vanilla", "full", "pgd_at", "jem"} == set(exp["objectives"])
    assert set(table["dataset"]) == set(exp["datasets"])
    metrics = {"accuracy", "robust_accuracy", "validity", "ip", "ip_star", "generative_mmd2"}
    assert set(table["metric"]) == metrics
    assert len(table) == len(metrics) * len(exp["datasets"]) * len(exp["objectives"])
    assert table["value"].map(np.isfinite).all()
    tex = (results / "tables" / "baselines.tex").read_text()
    assert "PGD-AT" in tex and "JEM" in tex and "Gen. MMD" in tex
    gen = pd.read_csv(results / "tables" / "generative.csv")
    assert set(gen["experiment"]) == {"baselines"}
    assert len(gen) == len(exp["objectives"]) * 2 * len(
        exp["datasets"]
    )  # moons and gmsc: 2 classes
    assert (gen["mmd2"] >= 0).all() and gen["finite_share"].between(0, 1).all()
    logs = pd.read_csv(results / "tables" / "training_logs.csv")
    base = logs[logs["experiment"] == "baselines"]
    assert base.loc[base["objective"] == "jem", "loss_gen"].map(np.isfinite).all()
    assert base.loc[base["objective"] == "pgd_at", "loss_adv"].map(np.isfinite).all()
    assert base.loc[base["objective"].isin(["pgd_at", "jem"]), "mean_steps"].isna().all()  # no CEs
    for row in table[table["metric"] == "robust_accuracy"].itertuples():
        clean = table[(table["metric"] == "accuracy") & (table["dataset"] == row.dataset)
                      & (table["objective"] == row.objective)]["value"].item()  # fmt: skip
        assert row.value <= clean + 1e-12, row  # PGD at the largest ε cannot help


@pytest.mark.parametrize("name", ["moons_ce_examples", "ablation"])
def test_rerun_one_figure_only(quick_run, name):
    fig = quick_run / "results" / "figures" / f"{name}.png"
    fig.unlink()
    target = str(fig.relative_to(quick_run))
    quick = ("--configfile", "config/quick.yaml", "--cores", "1")
    proc = run_snakemake(quick_run, *quick, "-n", target)
    assert proc.returncode == 0, proc.stderr
    stats = (proc.stdout + proc.stderr).split("Job stats:")[1].strip().split("\n\n")[0]
    jobs = dict(line.split() for line in stats.splitlines()[2:] if len(line.split()) == 2)
    assert jobs == {f"figure_{name}": "1", "total": "1"}, stats
    proc = run_snakemake(quick_run, *quick, target)
    assert proc.returncode == 0, proc.stderr
    assert_drawn(fig)


def test_lint_is_clean(tmp_path):
    work = copy_repo(tmp_path)
    proc = run_snakemake(work, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_delftblue_profile_dry_run(tmp_path):
    work = copy_repo(tmp_path)
    proc = run_snakemake(work, "--profile", "profiles/delftblue", "-n")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    # The planned DAG: one train job per model of the full config, one `all`.
    stats = (proc.stdout + proc.stderr).split("Job stats:")[1].strip().split("\n\n")[0]
    jobs = dict(line.split() for line in stats.splitlines()[2:] if len(line.split()) == 2)
    config = load_config(work / "config" / "config.yaml")
    assert int(jobs["train"]) == len(set(targets(config))) > 0, stats
    assert jobs["all"] == "1" and int(jobs["total"]) > int(jobs["train"]), stats


def test_repo_has_design_card():
    for rel in (
        "Snakefile",
        "workflow/schemas/config.schema.yaml",
        "config/config.yaml",
        "config/quick.yaml",
        "envs/cftrain.yaml",
        "profiles/local/config.yaml",
        "profiles/delftblue/config.yaml",
        "results/README.md",
    ):
        assert (REPO / rel).is_file(), rel


def caption_phrase(rst: str) -> str:
    """The longest run of plain text in a caption file (no markup, templating or non-ASCII), as
    the rendered report holds it verbatim."""
    runs = re.findall(r"[A-Za-z0-9 ,.;:()/+=-]+", rst.split("%}")[-1] if "%}" in rst else rst)
    return max((r.strip() for r in runs), key=len)


def test_report_names_every_figure_and_table(quick_run, tmp_path):
    """`snakemake --report` after the quick run: every figure and table, each with its caption."""
    config = load_config(quick_run / "config" / "config.yaml", quick_run / "config" / "quick.yaml")
    report = tmp_path / "report.html"
    proc = run_snakemake(quick_run, "--configfile", "config/quick.yaml", "--report", str(report))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    html = report.read_text()
    figures = [name for name in FIGURES if figure_wanted(config, name)]
    tables = [
        t for t in all_targets(config) if t.startswith("results/tables/") and t.endswith(".csv")
    ]
    collected = [t for t in tables if Path(t).stem in COLLECTED]
    assert figures and collected and len(tables) > len(collected)
    for path in [f"results/figures/{name}.png" for name in figures] + tables:
        assert path in html, f"{path} missing from the report"
    captions = REPO / "workflow" / "report"
    for name in figures:
        phrase = caption_phrase((captions / f"{name}.rst").read_text())
        assert len(phrase) > 30 and phrase in html, f"caption of {name}: {phrase!r}"
    # One rendered caption per table: the shared closing sentence of each caption file.
    assert html.count("Collected by rule") == len(collected)
    assert html.count("Built by rule") == len(tables) - len(collected)
