"""Table aggregation of method.md §6.2 "% reduction" (`presentation.jl` `aggregate_ce_evaluation`).

Input is a tidy frame with one row per (dataset, objective, run, λ_egy setting) holding the metric
already averaged over the *valid* CEs of that cell. Per run r: average over λ_egy settings → m_r;
R_r = m_CT,r / m_BL,r; reported reduction = −(mean_r R_r − 1)·100, "±" = 100·sd_r(R_r) (sample sd),
asterisk when the 99 % percentile interval of Δ_r = |m_CT,r| − |m_BL,r| over runs excludes 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RESULT_COLUMNS = [
    "metric", "n_runs", "mean_ratio", "reduction", "se", "delta_lower", "delta_upper", "significant",
]  # fmt: skip


def percent_reduction(
    df: pd.DataFrame,
    metric: str,
    *,
    baseline: str = "vanilla",
    treatment: str = "full",
    group: list[str] | None = None,
    seed_col: str | None = None,
    objective_col: str = "objective",
    run_col: str = "run",
    setting_col: str = "lambda_energy",
    level: float = 0.99,
) -> pd.DataFrame:
    """% reduction of `metric` from `baseline` to `treatment` objective, one row per `group` value.

    `group` default ["dataset"]. Runs are paired by `run_col` (and `seed_col` too when given, i.e.
    the pairing unit becomes (seed, run) for several training seeds). A cell with several rows per
    setting is averaged first, so every setting weighs equally. Returns the group columns plus
    `metric`, `n_runs`, `mean_ratio`, `reduction` (%), `se` (%), `delta_lower`, `delta_upper`
    (percentile interval of Δ_r at `level`, default 0.99) and `significant` (bool).
    """
    group = ["dataset"] if group is None else list(group)
    unit = group + ([seed_col] if seed_col else []) + [run_col]
    sub = df[df[objective_col].isin([baseline, treatment])]
    per_setting = sub.groupby(unit + [objective_col, setting_col])[metric].mean()
    per_run = per_setting.groupby(unit + [objective_col]).mean().unstack(objective_col)
    missing = {baseline, treatment} - set(per_run.columns)
    if missing:
        raise ValueError(f"objective(s) {sorted(missing)} not in column {objective_col!r}")
    per_run = per_run[[baseline, treatment]].dropna()
    per_run["ratio"] = per_run[treatment] / per_run[baseline]
    # A run whose baseline value is 0 (e.g. an MMD clamped at 0) has no finite ratio: leave it out.
    per_run = per_run[np.isfinite(per_run["ratio"])]
    per_run["delta"] = per_run[treatment].abs() - per_run[baseline].abs()
    tail = (1.0 - level) / 2.0

    def summarise(runs: pd.DataFrame) -> pd.Series:
        lower, upper = np.quantile(runs["delta"], [tail, 1.0 - tail])
        return pd.Series(
            {
                "n_runs": len(runs),
                "mean_ratio": runs["ratio"].mean(),
                "reduction": -(runs["ratio"].mean() - 1.0) * 100.0,
                "se": 100.0 * runs["ratio"].std(ddof=1),
                "delta_lower": lower,
                "delta_upper": upper,
                "significant": bool(lower > 0 or upper < 0),
            }
        )

    rows = [
        {
            **dict(zip(group, key if isinstance(key, tuple) else (key,), strict=True)),
            **summarise(runs),
        }
        for key, runs in per_run.groupby(level=group)
    ]
    out = pd.DataFrame(rows, columns=group + RESULT_COLUMNS[1:])
    out.insert(len(group), "metric", metric)
    return out.astype({"n_runs": int, "significant": bool})


def add_average_row(
    table: pd.DataFrame, *, label: str = "Avg.", group_col: str = "dataset"
) -> pd.DataFrame:
    """Append, per `metric`, an "Avg." row: plain mean over datasets of `reduction` and `se`.

    The average row carries no significance test (`significant` False, intervals NaN): the paper's
    "Avg." is a plain mean of dataset means (method.md §6.2).
    """
    by = ["metric"] if "metric" in table.columns else []
    groups = table.groupby(by) if by else [((None,), table)]
    avg_rows = []
    for key, part in groups:
        row = {col: np.nan for col in table.columns}
        row.update(
            {group_col: label, "reduction": part["reduction"].mean(), "se": part["se"].mean()}
        )
        row.update({"significant": False, "n_runs": int(part["n_runs"].min())})
        if by:
            row["metric"] = key[0]
        avg_rows.append(row)
    return pd.concat([table, pd.DataFrame(avg_rows, columns=table.columns)], ignore_index=True)


def format_cell(reduction: float, se: float, significant: bool, decimals: int = 2) -> str:
    """Display string such as "41.23 ± 3.10*" (asterisk only when significant)."""
    return f"{reduction:.{decimals}f} ± {se:.{decimals}f}" + ("*" if significant else "")


def format_table(
    table: pd.DataFrame,
    *,
    index: str = "dataset",
    columns: str = "metric",
    decimals: int = 2,
) -> pd.DataFrame:
    """Wide table of display strings: rows `index`, one column per `columns` value (row order kept)."""
    cells = table.assign(
        cell=[
            format_cell(r, s, bool(sig), decimals)
            for r, s, sig in zip(table["reduction"], table["se"], table["significant"], strict=True)
        ]
    )
    wide = cells.pivot(index=index, columns=columns, values="cell")
    wide = wide.reindex(index=pd.unique(table[index]), columns=pd.unique(table[columns]))
    wide.columns.name = None
    return wide


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex_cell(text: str) -> str:
    text = str(text)
    star = text.endswith("*")
    body = _latex_escape(text.rstrip("*")).replace(" ± ", r" $\pm$ ")
    return body + (r"$^{*}$" if star else "")


def to_latex(
    formatted: pd.DataFrame, *, index_name: str | None = None, rule_before: str | None = "Avg."
) -> str:
    """A booktabs `tabular` for a `format_table` result (hand-rolled: pandas' `to_latex` needs jinja2,
    which is not a declared dependency). "±" becomes `$\\pm$` and the asterisk `$^{*}$`; a
    `\\midrule` separates the row named `rule_before` (the "Avg." row)."""
    head = [index_name or formatted.index.name or ""] + [str(c) for c in formatted.columns]
    lines = [
        r"\begin{tabular}{l" + "r" * len(formatted.columns) + "}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in head) + r" \\",
        r"\midrule",
    ]
    for name, row in formatted.iterrows():
        if rule_before is not None and name == rule_before:
            lines.append(r"\midrule")
        lines.append(" & ".join([_latex_escape(name)] + [_latex_cell(v) for v in row]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)
