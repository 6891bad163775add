"""What every workflow step shares: the job's log file, tensors of a dataset split, row tags.

`workflow/scripts/*.py` only call the step functions of `cftrain.steps.*`, one module per rule file
(data, train, counterfactuals, evaluate, figures); settings arrive already resolved by
`cftrain.config`, and every step writes its outputs atomically.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import torch

from cftrain.allocator import retain_freed_memory
from cftrain.constraints import MUTABILITY_CODES, NONE

log = logging.getLogger("cftrain")


@contextlib.contextmanager
def job_logging(path: str | os.PathLike | None, threads: int = 1) -> Iterator[logging.Logger]:
    """Log to `path` (and stderr), pin torch to `threads` threads, keep freed tensor memory for
    reuse (`cftrain.allocator`), log any exception before exiting."""
    torch.set_num_threads(max(int(threads), 1))
    retain_freed_memory()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    try:
        yield log
    except BaseException:
        log.exception("job failed")
        raise


def tensors(ds, split: str, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(getattr(ds, f"X_{split}"), dtype=torch.float32, device=device)
    y = torch.as_tensor(getattr(ds, f"y_{split}"), dtype=torch.long, device=device)
    return x, y


def constraint_tensors(ds, protect: bool, device: str = "cpu", override: str | None = None):
    """(mutability or None, lower, upper) as tensors; mutability only when the experiment protects
    or sets one code for every feature (`override`, e.g. `increase`; protected features stay
    `none` when it also protects)."""
    mutability = (
        torch.as_tensor(ds.mutability, dtype=torch.int8, device=device) if protect else None
    )
    if override is not None:
        codes = torch.full((ds.n_features,), MUTABILITY_CODES[override], dtype=torch.int8)
        if protect:
            codes[torch.as_tensor(ds.mutability) == NONE] = NONE
        mutability = codes.to(device)
    lower = torch.as_tensor(ds.lower, dtype=torch.float32, device=device)
    upper = torch.as_tensor(ds.upper, dtype=torch.float32, device=device)
    return mutability, lower, upper


def _tag(table: pd.DataFrame, spec: dict) -> pd.DataFrame:
    for i, key in enumerate(("experiment", "dataset", "objective", "seed")):
        table.insert(i, key, spec[key])
    return table
