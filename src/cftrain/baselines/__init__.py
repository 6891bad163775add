"""Training objectives beyond the paper's ablation (issue 15): each one module with a per-batch
loss, selected by name in `experiments.*.objectives` through `cftrain.objective.OBJECTIVES`.

An objective whose registry entry names a `batch_loss` ("module:Class") is trained by
`cftrain.training.train` with that class instead of the CT loss: the loop builds it once per run
(`build_batch_objective`), calls `setup` with the run's data and seed, then `loss(model, x, y)` for
every mini-batch. Its dataclass fields are its config parameters
(`training.objective_params.<objective>:`), their defaults live there only; `state_dict` and
`load_state_dict` carry its state (replay buffer, random stream) through a checkpoint, so a killed
run resumes exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib import import_module
from typing import ClassVar

import torch
from torch import nn

from cftrain.parameters import resolve_fields


@dataclasses.dataclass
class BatchObjective:
    """Base of a per-batch training objective. Subclasses are dataclasses (fields = parameters)."""

    #: Loss terms written to the training log as loss_<term> columns (in this order).
    terms: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parameters(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(cls)}

    @classmethod
    def defaults(cls) -> dict:
        return {k: f.default for k, f in cls.parameters().items()}

    def setup(self, *, x_train: torch.Tensor, lower: torch.Tensor | None,
              upper: torch.Tensor | None, total_steps: int, seed: int) -> None:  # fmt: skip
        """Called once per run before the first batch (and before a checkpoint is restored)."""

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""


def batch_objective_class(path: str) -> type[BatchObjective]:
    module, name = path.split(":")
    return getattr(import_module(module), name)


def objective_parameters() -> dict[str, dict[str, dataclasses.Field]]:
    """{objective: its parameters} for every objective of the registry with a batch loss."""
    from cftrain.objective import OBJECTIVES

    return {
        name: batch_objective_class(spec.batch_loss).parameters()
        for name, spec in OBJECTIVES.items()
        if spec.batch_loss is not None
    }


def resolve_objective_params(objective: str, params: Mapping | None) -> dict:
    """Every parameter of `objective`'s batch loss: class defaults updated by `params`. An objective
    without a batch loss takes none; an unknown name is an error naming the allowed ones."""
    from cftrain.objective import OBJECTIVES

    spec = OBJECTIVES[objective]
    params = dict(params or {})
    if spec.batch_loss is None:
        if params:
            raise ValueError(f"objective {objective!r} takes no parameters, got {sorted(params)}")
        return {}
    return resolve_fields("objective", objective, batch_objective_class(spec.batch_loss), params)


def build_batch_objective(objective: str, params: Mapping | None) -> BatchObjective | None:
    """The batch loss of `objective` with its resolved parameters, or None (the CT loss)."""
    from cftrain.objective import OBJECTIVES

    spec = OBJECTIVES[objective]
    if spec.batch_loss is None:
        return None
    return batch_objective_class(spec.batch_loss)(**resolve_objective_params(objective, params))
