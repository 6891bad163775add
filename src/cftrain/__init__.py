"""cftrain — Counterfactual Training (Altmeyer et al., SaTML 2026) in PyTorch.

The public API for training your own model with CT (method.md §1–3):

- `train(model, x, y, TrainConfig(...))` — the CT training loop (or vanilla/AR/CD ablations);
- `search_counterfactuals(model, x, target, generator, ...)` — the batched counterfactual search;
- generators `Generic`, `ECCo`, `REVISE`; `build_model` for the paper's MLP/linear/LeNet-5.
"""

from cftrain.generators import REVISE, ECCo, Generic, build_generator
from cftrain.models import build_model
from cftrain.search import SearchResult, search_counterfactuals
from cftrain.training import TrainConfig, TrainingError, train

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
