"""Steps of workflow/rules/figures.smk that are not drawing: tidy tables collected from the per-run
CSVs and the paper tables (method.md §8); figures are drawn by `cftrain.plots.render`."""

from __future__ import annotations

import pandas as pd

from cftrain.io import atomic_path


def collect_csv(sources: list[tuple[str, str | None]], output: str) -> None:
    """Concatenate per-run CSVs; (path, tag): a tag replaces the file's `experiment` column (a
    replicate run that is its repeated experiment's own, `cftrain.workflow.collected_sources`)."""
    frames = []
    for path, tag in sources:
        frame = pd.read_csv(path)
        if tag is not None:
            frame["experiment"] = tag
        frames.append(frame)
    with atomic_path(output) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)


def table_step(
    name: str, inputs: list[str], datasets: list[str], csv_out: str, tex_out: str
) -> None:
    """Build one paper table from the collected tidy CSVs."""
    from importlib import import_module

    from cftrain.tables import write_table
    from cftrain.workflow import TABLES

    frame = pd.concat([pd.read_csv(p) for p in inputs], ignore_index=True)
    module, func = TABLES[name]["builder"].split(":")
    tidy, display = getattr(import_module(module), func)(frame, datasets)
    write_table(tidy, display, csv_out, tex_out)
