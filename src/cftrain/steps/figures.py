"""Steps of workflow/rules/figures.smk that are not drawing: tidy tables collected from the per-run
CSVs and the paper tables (method.md §8); figures are drawn by `cftrain.plots.render`."""

from __future__ import annotations

import pandas as pd

from cftrain.io import atomic_path


def collect_csv(inputs: list[str], output: str) -> None:
    frames = [pd.read_csv(p) for p in inputs]
    with atomic_path(output) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)


def table_step(
    name: str, inputs: list[str], datasets: list[str], csv_out: str, tex_out: str
) -> None:
    """Build one paper table from the collected tidy CSVs."""
    from cftrain import tables

    frame = pd.concat([pd.read_csv(p) for p in inputs], ignore_index=True)
    builder = {"main": tables.main_table, "validity": tables.validity_table, "costs": tables.costs_table,
               "ig": tables.ig_table}[name]  # fmt: skip
    tidy, display = builder(frame, datasets)
    tables.write_table(tidy, display, csv_out, tex_out)
