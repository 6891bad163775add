"""Tests for cftrain.aggregate (method.md §6.2 "% reduction")."""

import numpy as np
import pandas as pd
import pytest

from cftrain.aggregate import add_average_row, format_table, percent_reduction, to_latex


def frame():
    rows = []
    # dataset "a": CT halves the metric in every run (R = 0.5 exactly, split across two settings).
    # dataset "b": CT equals BL on average with symmetric noise (R = 1 ± 0.1) → no asterisk.
    for run in range(20):
        for lam, (bl, ct) in zip((0.1, 1.0), ((2.0, 0.8), (2.0, 1.2)), strict=True):
            rows.append(("a", "vanilla", run, lam, bl))
            rows.append(("a", "full", run, lam, ct))
        wiggle = 0.1 if run % 2 else -0.1
        for lam in (0.1, 1.0):
            rows.append(("b", "vanilla", run, lam, 1.0))
            rows.append(("b", "full", run, lam, 1.0 + wiggle))
            rows.append(("b", "energy", run, lam, 99.0))  # ignored objective
    return pd.DataFrame(rows, columns=["dataset", "objective", "run", "lambda_energy", "cost"])


def test_percent_reduction_known_values():
    table = percent_reduction(frame(), "cost").set_index("dataset")
    assert table.loc["a", "reduction"] == pytest.approx(50.0)
    assert table.loc["a", "se"] == pytest.approx(0.0)
    assert bool(table.loc["a", "significant"])
    assert table.loc["b", "reduction"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["b", "se"] == pytest.approx(100 * np.std([0.9, 1.1] * 10, ddof=1))
    assert not bool(table.loc["b", "significant"])
    assert (table["n_runs"] == 20).all()


def test_sign_uses_absolute_values_for_delta():
    # Negative-stored metric (IP in CE.jl): |CT| < |BL| is a significant reduction.
    df = frame()
    df["cost"] = -df["cost"]
    table = percent_reduction(df, "cost").set_index("dataset")
    assert table.loc["a", "reduction"] == pytest.approx(50.0)
    assert table.loc["a", "delta_upper"] < 0 and bool(table.loc["a", "significant"])


def test_average_row_format_and_latex():
    table = add_average_row(percent_reduction(frame(), "cost"))
    avg = table[table["dataset"] == "Avg."].iloc[0]
    assert avg["reduction"] == pytest.approx(25.0)
    wide = format_table(table)
    assert wide.loc["a", "cost"] == "50.00 ± 0.00*"
    assert wide.loc["b", "cost"].endswith("± 10.26") and not wide.loc["b", "cost"].endswith("*")
    assert list(wide.index) == ["a", "b", "Avg."]
    latex = to_latex(wide)
    assert r"50.00 $\pm$ 0.00$^{*}$" in latex and latex.count(r"\midrule") == 2
    assert latex.startswith(r"\begin{tabular}{lr}")
