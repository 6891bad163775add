"""Markdown of the paper tables of one finished workflow run, for docs/reproduction-log.md.

    python benchmarks/reproduction_log.py RESULTS_DIR [--label TEXT]

Reads RESULTS_DIR/tables/counterfactual_metrics.csv and ig_rounds.csv (the collected tidy tables)
and prints the display versions of the main, validity, costs and IG tables (the same builders as
the workflow's `table` rule, cftrain.tables), plus the wall time of the run if RESULTS_DIR/benchmarks
holds per-job timings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from cftrain import tables
from cftrain.datasets.registry import DATASETS


def markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines)


def job_seconds(results: Path) -> float:
    """Sum of the `s` column of every Snakemake benchmark file (job time, not wall time)."""
    total = 0.0
    for path in results.glob("benchmarks/**/*.tsv"):
        total += float(pd.read_csv(path, sep="\t")["s"].sum())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    cf = pd.read_csv(args.results / "tables" / "counterfactual_metrics.csv")
    out = [f"### {args.label}".rstrip()] if args.label else []
    for name, builder, frame in [
        ("main", tables.main_table, cf),
        ("validity", tables.validity_table, cf),
        ("costs", tables.costs_table, cf),
        ("ig", tables.ig_table, pd.read_csv(args.results / "tables" / "ig_rounds.csv")),
    ]:
        _, display = builder(frame, DATASETS)
        out += ["", f"**{name}**", "", markdown(display)]
    out += ["", f"Job time (sum of benchmark files): {job_seconds(args.results):.0f} s"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
