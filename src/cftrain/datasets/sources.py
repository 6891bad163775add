"""Where a dataset's raw file comes from and what its `prepare_data` job gets (method.md §4).

Config → job parameters for the data stage (workflow/rules/data.smk); the fetching itself is
`cftrain.datasets.fetch`, the preparation `cftrain.datasets.prepare_dataset`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cftrain.config import dataset_section


def data_params(config: dict, dataset: str, seed: int | str | None = None) -> dict:
    """Keyword arguments of `cftrain.datasets.prepare_dataset` for one dataset (the raw file's
    folder is added by the job from its input, see `raw_input`); `seed` replaces `data.seed`
    (a replicate's data-generation seed, cftrain.experiments)."""
    ds = dataset_section(config, dataset)
    params = {
        "seed": int(config["data"]["seed"] if seed is None else seed),
        "domain_n_std": float(config["data"]["domain_n_std"]),
    }
    if "fit_on" in config["data"]:  # unset = prepare_dataset's default, the original's train pool
        params["fit_on"] = str(config["data"]["fit_on"])
    for key in ("n_train", "n_val", "n_test"):
        if key in ds:
            params[key] = int(ds[key])
    return params


def raw_data_sources(config: dict, environ=None) -> dict:
    """Where raw files come from (cftrain.datasets.fetch): {data_dir, mirror, cache}.

    The environment variables CFTRAIN_DATA_DIR and CFTRAIN_DATA_MIRROR win over the config keys
    `data_dir` and `data_mirror`, so one machine-wide setting serves every checkout.
    """
    from cftrain.datasets.fetch import DEFAULT_CACHE, ENV_DATA_MIRROR
    from cftrain.datasets.raw import ENV_DATA_DIR

    environ = os.environ if environ is None else environ
    return {
        "data_dir": environ.get(ENV_DATA_DIR) or config.get("data_dir") or None,
        "mirror": environ.get(ENV_DATA_MIRROR) or config.get("data_mirror") or None,
        "cache": config.get("data_cache") or DEFAULT_CACHE,
    }


def raw_input(config: dict, dataset: str, environ=None) -> list[str]:
    """The raw file `prepare_data` reads: the copy in the data folder when there is one (used in
    place, nothing downloaded), else the cache file the `fetch_raw` rule makes; none if synthetic."""
    from cftrain.datasets.raw import RAW_SOURCES

    if dataset not in RAW_SOURCES:
        return []
    sources = raw_data_sources(config, environ)
    file = RAW_SOURCES[dataset].file
    if sources["data_dir"] and (Path(sources["data_dir"]) / file).is_file():
        return [str(Path(sources["data_dir"]) / file)]
    return [f"{sources['cache']}/{file}"]
