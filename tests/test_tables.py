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
    costs, _ = costs_table(_frame(), ["moons", "adult"])
    assert len(costs) == 8
    ig = pd.DataFrame({"dataset": "moons", "objective": ["vanilla"] * 50 + ["full"] * 50,
                       "round": list(range(50)) * 2, "value": np.r_[np.linspace(0.4, 0.6, 50), np.linspace(0, 0.1, 50)]})  # fmt: skip
    tidy_ig, display_ig = ig_table(ig, ["moons"])
    assert tidy_ig.set_index("objective").loc["vanilla", "median"] == pytest.approx(0.5)
    write_table(tidy_ig, display_ig, str(tmp_path / "ig.csv"), str(tmp_path / "ig.tex"))
    tex = (tmp_path / "ig.tex").read_text()
    assert "\\begin{tabular}" in tex and "moons" in tex
