"""cftrain — Counterfactual Training (Altmeyer et al., SaTML 2026) in PyTorch.

The public API for training your own model with CT is re-exported here (method.md §1–3):
`train`, `TrainConfig`, `search_counterfactuals`, the generators and the model builders.
"""

__version__ = "0.1.0"
