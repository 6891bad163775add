"""Paper tables from tidy per-run frames (cftrain.tables, method.md §6.2 aggregation)."""

import numpy as np
import pandas as pd
import pytest

from cftrain.tables import costs_table, ig_table, main_table, validity_table, write_table


def _frame(runs=20):
    rng = np.random.default_rng(0)
    rows = []
    for experiment in ("main", "mutability"):
        for dataset, ratio in (("moons", 0.5), ("adult", 1.0)):
            for run in range(runs):
                for lam in (0.5, 5.0):
                    base = 2.0 + rng.normal(0, 0.01)
                    for objective, factor in (("vanilla", 1.0), ("full", ratio)):
                        value = base * factor
                        rows.append({"experiment": experiment, "dataset": dataset, "objective": objective,
                                     "seed": 1, "lambda_energy": lam, "run": run, "validity": 0.9 * factor,
                                     "cost": value, "ip": value, "ip_star": value / 10})  # fmt: skip
    return pd.DataFrame(rows)


def test_main_table_reductions_and_average():
    tidy, display = main_table(_frame(), ["moons", "adult"])
    ip = tidy[tidy["metric"] == "ip"].set_index("dataset")
    assert ip.loc["moons", "reduction"] == pytest.approx(50.0)
    assert ip.loc["adult", "reduction"] == pytest.approx(0.0, abs=1e-9)
    assert bool(ip.loc["moons", "significant"]) and not bool(ip.loc["adult", "significant"])
    assert ip.loc["Avg.", "reduction"] == pytest.approx(25.0)
    assert set(tidy["metric"]) == {"ip", "ip_star", "cost"}
    assert list(display["dataset"]) == ["moons", "adult", "Avg."]
    assert display.loc[0, "IP"].endswith("*")


def test_validity_costs_ig_tables(tmp_path):
    tidy, display = validity_table(_frame(), ["moons", "adult"])
    row = tidy[
        (tidy["dataset"] == "moons")
        & (tidy["objective"] == "full")
        & (tidy["setting"] == "protected")
    ]
    assert row["value"].item() == pytest.approx(0.45)
    assert {"unconstrained BL", "unconstrained CT", "protected BL", "protected CT"} <= set(
        display.columns
    )
    frame = _frame()
    costs, costs_display = costs_table(frame, ["moons", "adult"])
    assert len(costs) == 8
    assert list(costs["dataset"]) == ["moons"] * 4 + ["adult"] * 4
    for experiment, setting in (("main", "unconstrained"), ("mutability", "protected")):
        for dataset in ("moons", "adult"):
            for objective, model in (("vanilla", "BL"), ("full", "CT")):
                rows = frame[(frame["experiment"] == experiment) & (frame["dataset"] == dataset)
                             & (frame["objective"] == objective)]  # fmt: skip
                # Per run: the mean over its two settings; then mean and s.d. (ddof 1) over runs.
                per_run = [rows.loc[rows["run"] == r, "cost"].to_numpy().mean() for r in range(20)]
                got = costs[(costs["dataset"] == dataset) & (costs["setting"] == setting)
                            & (costs["model"] == model)]  # fmt: skip
                assert got["value"].item() == pytest.approx(np.mean(per_run), rel=1e-12)
                assert got["sd"].item() == pytest.approx(np.std(per_run, ddof=1), rel=1e-9)
                assert got["n_runs"].item() == 20
                cell = costs_display.set_index("dataset").loc[dataset, f"{setting} {model}"]
                assert cell == f"{np.mean(per_run):.2f} ± {np.std(per_run, ddof=1):.2f}"
    moons = costs[costs["dataset"] == "moons"].set_index(["setting", "model"])["value"]
    assert moons["unconstrained", "CT"] == pytest.approx(moons["unconstrained", "BL"] / 2, rel=1e-2)
    ig = pd.DataFrame({"dataset": "moons", "objective": ["vanilla"] * 50 + ["full"] * 50,
                       "round": list(range(50)) * 2, "value": np.r_[np.linspace(0.4, 0.6, 50), np.linspace(0, 0.1, 50)]})  # fmt: skip
    tidy_ig, display_ig = ig_table(ig, ["moons"])
    assert tidy_ig.set_index("objective").loc["vanilla", "median"] == pytest.approx(0.5)
    write_table(tidy_ig, display_ig, str(tmp_path / "ig.csv"), str(tmp_path / "ig.tex"))
    tex = (tmp_path / "ig.tex").read_text()
    assert "\\begin{tabular}" in tex and "moons" in tex


def test_baselines_table_from_the_three_collected_tables(tmp_path):
    """Issue 15: one row per dataset and objective for each metric, values recomputed by hand."""
    from cftrain.tables import baselines_table

    objectives = ["vanilla", "full", "pgd_at", "jem"]
    tag = {"experiment": "baselines", "seed": 0}
    cf = pd.DataFrame([{**tag, "dataset": "moons", "objective": o, "lambda_energy": lam, "run": r,
                        "validity": 0.5 + 0.1 * i, "cost": 1.0, "ip": 1.0 + i + r, "ip_star": 0.1 * i}
                       for i, o in enumerate(objectives) for r in range(3) for lam in (0.5, 5.0)])  # fmt: skip
    perf = pd.DataFrame([{**tag, "dataset": "moons", "objective": o, "attack": a, "eps": e,
                          "accuracy": 0.9 - i * 0.01 - e}
                         for i, o in enumerate(objectives)
                         for a, e in (("none", 0.0), ("pgd", 0.0), ("pgd", 0.1), ("fgsm", 0.1))])  # fmt: skip
    gen = pd.DataFrame([{**tag, "dataset": "moons", "objective": o, "class": k, "mmd2": i + k}
                        for i, o in enumerate(objectives) for k in (0, 1)])  # fmt: skip
    other = cf.assign(experiment="main", ip=99.0)  # rows of other experiments are left out
    tidy, display = baselines_table(pd.concat([cf, perf, gen, other], ignore_index=True), ["moons"])
    assert len(tidy) == 6 * len(objectives)
    get = tidy.set_index(["objective", "metric"])["value"]
    assert get["jem", "ip"] == pytest.approx(5.0)  # mean over runs r = 0..2 of 1 + 3 + r
    assert get["pgd_at", "validity"] == pytest.approx(0.7)
    assert get["full", "accuracy"] == pytest.approx(0.89)
    assert get["full", "robust_accuracy"] == pytest.approx(0.89 - 0.1)  # PGD at the largest ε
    assert get["jem", "generative_mmd2"] == pytest.approx(3.5)  # mean over classes of 3 and 4
    assert list(display.columns) == [
        "row",
        "Acc.",
        "PGD acc.",
        "Validity",
        "IP",
        "IP*",
        "Gen. MMD²",
    ]
    assert display["row"].tolist() == ["moons BL", "moons CT", "moons PGD-AT", "moons JEM"]
    write_table(tidy, display, tmp_path / "b.csv", tmp_path / "b.tex")
    assert "PGD-AT" in (tmp_path / "b.tex").read_text()
