"""Checkpoints of the training loop (method.md §2: a killed run resumes exactly) and its guard
against non-finite losses (`max_skipped_share`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from cftrain.io import save_torch_atomic


class TrainingError(RuntimeError):
    """Training could not produce a trustworthy model (e.g. too many non-finite losses)."""


def check_skipped(skipped: int, total_steps: int, max_share: float, epoch: int) -> None:
    """Raise TrainingError when more than `max_share` of all planned steps were skipped."""
    if total_steps and skipped / total_steps > max_share:
        raise TrainingError(
            f"{skipped} of {total_steps} planned optimiser steps had a non-finite loss by epoch "
            f"{epoch} ({skipped / total_steps:.1%} > max_skipped_share {max_share:.1%}); no model "
            "written — lower the learning rate or the CT weights (per-epoch counts: column "
            "skipped_steps of the training log)"
        )


def checkpoint_fingerprint(cfg) -> dict:
    """Settings a checkpoint must share with a run to be resumed: all but the device and the epoch
    count (a longer run continues a shorter one as long as burn-in ends at the same epoch)."""
    out = {k: v for k, v in asdict(cfg).items() if k not in ("device", "epochs")}
    if not out.get("objective_params"):
        out.pop("objective_params", None)  # as before objectives had parameters
    out["burnin_epochs"] = round(cfg.burnin * cfg.epochs)
    return out


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Save a training state atomically (tensors, dicts and numbers only)."""
    save_torch_atomic(state, path)


def load_checkpoint(path: str | Path) -> dict:
    """Load a training state without unpickling arbitrary objects (`weights_only=True`)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(
            f"{path}: not a readable cftrain checkpoint ({err}); delete it to start over"
        ) from err
