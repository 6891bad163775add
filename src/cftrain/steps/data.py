"""Steps of workflow/rules/data.smk: fetch and verify a raw file, prepare one dataset (method.md §4)."""

from __future__ import annotations

from pathlib import Path

from cftrain.datasets import prepare_dataset, write_dataset
from cftrain.datasets.fetch import fetch_raw
from cftrain.datasets.raw import RAW_FILES
from cftrain.datasets.sources import raw_data_sources
from cftrain.steps.common import log


def fetch_raw_step(raw_file: str, config: dict, output: str) -> None:
    """Fetch one raw file into the cache and verify it (cftrain.datasets.fetch)."""
    sources = raw_data_sources(config)
    path = fetch_raw(RAW_FILES[raw_file], Path(output).parent, mirror=sources["mirror"])
    if Path(path).resolve() != Path(output).resolve():
        raise RuntimeError(f"fetched {path}, but the rule expects {output}")
    log.info("raw file %s ready and verified: %s", raw_file, path)


def prepare_data_step(
    dataset: str, params: dict, output: str, raw: list[str] | None = None
) -> None:
    """Prepare one dataset; `raw` is the verified raw file (real datasets), read from its folder."""
    if raw:
        params = {**params, "data_dir": str(Path(raw[0]).parent)}
    ds = prepare_dataset(dataset, **params)
    write_dataset(ds, output)
    log.info(
        "prepared %s: train %s, val %s, test %s",
        dataset,
        ds.X_train.shape,
        ds.X_val.shape,
        ds.X_test.shape,
    )
