"""cftrain — Counterfactual Training (Altmeyer et al., SaTML 2026) in PyTorch.

The public API for training your own model with CT (method.md §1–3):

- `train(model, x, y, TrainConfig(...))` — the CT training loop (or vanilla/AR/CD ablations);
- `search_counterfactuals(model, x, target, generator, ...)` — the batched counterfactual search;
- generators `Generic`, `ECCo`, `REVISE`; `build_model` for the paper's MLP/linear/LeNet-5.
"""

from __future__ import annotations

import importlib

# Loaded on first use (PEP 562), so that light modules — `cftrain.forkserver`, which every workflow
# job imports before anything else — do not pay torch's import time.
_API = {
    "ECCo": "cftrain.generators",
    "Generic": "cftrain.generators",
    "REVISE": "cftrain.generators",
    "build_generator": "cftrain.generators",
    "build_model": "cftrain.models",
    "SearchResult": "cftrain.search",
    "search_counterfactuals": "cftrain.search",
    "TrainConfig": "cftrain.training",
    "TrainingError": "cftrain.training",
    "train": "cftrain.training",
}


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cftrain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__version__ = "0.1.0"
__all__ = [
    "ECCo",
    "Generic",
    "REVISE",
    "SearchResult",
    "TrainConfig",
    "TrainingError",
    "build_generator",
    "build_model",
    "search_counterfactuals",
    "train",
]
