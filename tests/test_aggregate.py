"""Tests for cftrain.aggregate (method.md §6.2 "% reduction")."""

import numpy as np
import pandas as pd
import pytest

from cftrain.aggregate import (
    add_average_row,
    format_cell,
    format_table,
    percent_reduction,
    to_latex,
)


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


def _paired(values):
    """Tidy rows from {(group, seed, run): (baseline per setting, treatment per setting)}."""
    rows = []
    for (grp, seed, run), (bl, ct) in values.items():
        for lam, b, c in zip((0.5, 2.0), bl, ct, strict=True):
            rows.append((grp, seed, "base", run, lam, b))
            rows.append((grp, seed, "treat", run, lam, c))
    return pd.DataFrame(rows, columns=["grp", "seed", "obj", "r", "lam", "m"])


def test_percent_reduction_named_columns_seeds_and_interval_by_hand():
    # Runs (seed, r): setting means bl = 2, ct = 3, 1, 2.5, 4 → ratios 1.5, 0.5, 1.25, 2.0.
    df = _paired({
        ("g", 0, 0): ((1.0, 3.0), (3.0, 3.0)),
        ("g", 0, 1): ((2.0, 2.0), (0.5, 1.5)),
        ("g", 1, 0): ((2.0, 2.0), (2.0, 3.0)),
        ("g", 1, 1): ((4.0, 0.0), (4.0, 4.0)),
    })  # fmt: skip
    kw = dict(baseline="base", treatment="treat", group=["grp"], objective_col="obj", run_col="r", setting_col="lam")  # fmt: skip
    out = percent_reduction(df, "m", seed_col="seed", level=0.5, **kw).iloc[0]
    ratios = [1.5, 0.5, 1.25, 2.0]
    mean = sum(ratios) / 4
    sd = (sum((r - mean) ** 2 for r in ratios) / 3) ** 0.5
    assert out["grp"] == "g" and out["metric"] == "m" and out["n_runs"] == 4
    assert out["mean_ratio"] == pytest.approx(mean)
    assert out["reduction"] == pytest.approx(-(mean - 1) * 100)
    assert out["se"] == pytest.approx(100 * sd)
    # Δ = |ct| − |bl| = 1, −1, 0.5, 2, sorted (−1, 0.5, 1, 2); level 0.5 → 25 % and 75 % quantiles
    # (linear): position 0.75 → −1 + 0.75·1.5 = 0.125; position 2.25 → 1 + 0.25·1 = 1.25.
    assert out["delta_lower"] == pytest.approx(0.125) and out["delta_upper"] == pytest.approx(1.25)
    assert bool(out["significant"])  # lower > 0: a significant *increase*
    # Without the seed column, runs (0, r) and (1, r) merge into one unit per r: 2 runs.
    merged = percent_reduction(df, "m", **kw).iloc[0]
    assert merged["n_runs"] == 2
    # bl per r: mean(2, 2) = 2 for both; ct: r0 → (3 + 2.5)/2 = 2.75, r1 → (1 + 4)/2 = 2.5
    assert merged["mean_ratio"] == pytest.approx((2.75 / 2 + 2.5 / 2) / 2)
    # The default level 0.99 interval spans Δ (0.75, 0.5): both > 0.
    assert merged["delta_lower"] == pytest.approx(0.5 + 0.005 * 0.25) and bool(
        merged["significant"]
    )


def test_percent_reduction_drops_zero_baselines_and_incomplete_runs():
    df = _paired({
        ("g", 0, 0): ((1.0, 1.0), (0.5, 0.5)),
        ("g", 0, 1): ((0.0, 0.0), (1.0, 1.0)),  # baseline 0: no finite ratio
        ("g", 0, 2): ((2.0, 2.0), (1.0, 1.0)),
    })  # fmt: skip
    df = df[~((df["r"] == 2) & (df["obj"] == "base"))]  # run 2 lacks the baseline: dropped
    kw = dict(baseline="base", treatment="treat", group=["grp"], objective_col="obj", run_col="r", setting_col="lam")  # fmt: skip
    out = percent_reduction(df, "m", **kw).iloc[0]
    assert out["n_runs"] == 1 and out["reduction"] == pytest.approx(50.0)
    with pytest.raises(ValueError, match=r"^objective\(s\) \['full'\] not in column 'obj'$"):
        percent_reduction(df, "m", baseline="base", group=["grp"], objective_col="obj", run_col="r", setting_col="lam")  # fmt: skip


def test_average_row_without_metric_column_and_latex_options():
    table = pd.DataFrame({
        "dataset": ["a", "b"], "reduction": [10.0, 30.0], "se": [1.0, 3.0], "n_runs": [5, 3],
        "significant": [True, True], "delta_lower": [0.1, 0.2],
    })  # fmt: skip
    out = add_average_row(table, label="Mean", group_col="dataset")
    avg = out.iloc[-1]
    assert avg["dataset"] == "Mean" and avg["reduction"] == 20.0 and avg["se"] == 2.0
    assert avg["n_runs"] == 3 and not avg["significant"] and np.isnan(avg["delta_lower"])
    wide = format_table(out.assign(metric="ip"), decimals=1)
    assert wide.loc["a", "ip"] == "10.0 ± 1.0*" and wide.loc["Mean", "ip"] == "20.0 ± 2.0"
    latex = to_latex(wide.rename(index={"a": "a_1 & 50%"}), index_name="Data", rule_before=None)
    assert latex.splitlines()[2] == r"Data & ip \\"
    assert r"a\_1 \& 50\% & 10.0 $\pm$ 1.0$^{*}$ \\" in latex
    assert latex.count(r"\midrule") == 1 and latex.endswith("\\end{tabular}\n")


def test_average_row_appends_with_a_fresh_index_and_the_same_columns():
    table = pd.DataFrame({"dataset": ["a", "b"], "reduction": [10.0, 30.0], "se": [1.0, 3.0], "n_runs": [5, 3]})  # fmt: skip
    out = add_average_row(table)
    assert out.index.tolist() == [0, 1, 2]
    assert out.columns.tolist() == [
        "dataset",
        "reduction",
        "se",
        "n_runs",
    ]  # no "significant" added
    assert out.iloc[2].tolist() == ["Avg.", 20.0, 2.0, 3]


def test_format_cell_default_two_decimals():
    assert format_cell(41.234, 3.1, True) == "41.23 ± 3.10*"
    assert format_cell(-0.5, 0.25, False, decimals=1) == "-0.5 ± 0.2"


def test_format_table_keeps_first_appearance_order_and_no_columns_name():
    table = pd.DataFrame({
        "dataset": ["m", "m", "c", "c"], "metric": ["validity", "cost", "validity", "cost"],
        "reduction": [1.0, 2.0, 3.0, 4.0], "se": [0.0] * 4, "significant": [False] * 4,
    })  # fmt: skip
    wide = format_table(table, decimals=0)
    assert wide.columns.tolist() == ["validity", "cost"] and wide.index.tolist() == ["m", "c"]
    assert wide.columns.name is None
    assert wide.loc["c", "cost"] == "4 ± 0"


def test_to_latex_whole_table_by_hand():
    """The complete booktabs output: header from the index name, rules in place, a starred and an
    unstarred cell."""
    wide = pd.DataFrame(
        {"ip": ["50.00 ± 1.00*", "-2.50 ± 0.25"]}, index=pd.Index(["a", "Avg."], name="dataset")
    )
    assert to_latex(wide) == "\n".join([
        r"\begin{tabular}{lr}",
        r"\toprule",
        r"dataset & ip \\",
        r"\midrule",
        r"a & 50.00 $\pm$ 1.00$^{*}$ \\",
        r"\midrule",
        r"Avg. & -2.50 $\pm$ 0.25 \\",
        r"\bottomrule",
        r"\end{tabular}",
        "",
    ])  # fmt: skip
    wide.index.name = None  # no index name and none given: an empty header cell
    assert to_latex(wide, rule_before=None).splitlines()[2] == r" & ip \\"


def test_percent_reduction_without_finite_ratio_is_empty_with_every_column():
    """A baseline of 0 in every run (an MMD clamped at 0) leaves no finite ratio: no row, but the
    table keeps its columns, so the Avg. row and formatting still work on it."""
    df = frame()
    df = df[df["dataset"] == "a"].assign(
        cost=lambda f: np.where(f["objective"] == "vanilla", 0.0, 1.0)
    )
    out = percent_reduction(df, "cost")
    assert out.empty
    assert list(out.columns) == ["dataset", "metric", "n_runs", "mean_ratio", "reduction", "se",
                                 "delta_lower", "delta_upper", "significant"]  # fmt: skip
