"""Model files: a state dict plus the architecture, loaded without unpickling objects (method.md §5)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cftrain.io import save_torch_atomic
from cftrain.models import build_model


def save_model(path: str | Path, model: nn.Module, architecture: dict) -> None:
    """Save atomically: {"architecture": {name, n_features, n_classes, hidden}, "state_dict": ...}."""
    save_torch_atomic({"architecture": dict(architecture), "state_dict": model.state_dict()}, path)


def load_model(path: str | Path, device: str = "cpu") -> nn.Module:
    """Rebuild and load a model; a foreign file or wrong shapes raise ValueError naming the file."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: not a readable cftrain model file ({err})") from err
    if not isinstance(blob, dict) or "architecture" not in blob or "state_dict" not in blob:
        raise ValueError(
            f"{path}: not a cftrain model file (needs 'architecture' and 'state_dict')"
        )
    arch = blob["architecture"]
    try:
        model = build_model(
            arch["name"],
            int(arch["n_features"]),
            int(arch["n_classes"]),
            hidden=int(arch.get("hidden", 32)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{path}: bad architecture {arch!r} ({err})") from err
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit architecture {arch}: {err}") from err
    return model.to(device).eval()
