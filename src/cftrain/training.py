"""The CT training loop of method.md §2 (`src/training.jl`, `src/counterfactuals.jl`).

Per epoch (after burn-in) one counterfactual sweep with the epoch-start model: n_CE factuals drawn
without replacement, target uniform among the non-predicted classes, search (§3), neighbour x⁺ drawn
by true label, non-mature counterfactuals replaced by their neighbour, immutable features protected
in the neighbour, then the items split evenly over the mini-batches in their fixed order (no
shuffling). One optimiser step per mini-batch with the §1 loss; non-finite losses are skipped and
counted. A log row per epoch and a checkpoint per epoch, from which a killed run resumes exactly.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from cftrain.baselines import build_batch_objective
from cftrain.categorical import TRAINING_DEFAULT, CategoricalProjection
from cftrain.checkpoint import (  # noqa: F401 - re-exported: cftrain.training's public names
    TrainingError,
    check_skipped,
    checkpoint_fingerprint,
    load_checkpoint,
    save_checkpoint,
)
from cftrain.constraints import protect_immutable_neighbours
from cftrain.generators import build_generator, generator_class
from cftrain.objective import OBJECTIVES, LossWeights, ct_loss
from cftrain.search import STEP_SIZE, search_counterfactuals

log = logging.getLogger("cftrain")


#: Maturity threshold τ of the training search when none is given: CounterfactualTraining.jl's
#: default (method.md §2 table, "package default 0.75"). The search's own default,
#: `cftrain.search.TAU` = 0.5, is CE.jl's `DecisionThresholdConvergence` default: two packages,
#: two defaults; the workflow config sets τ per dataset for both phases.
TRAINING_TAU = 0.75


@dataclass
class TrainConfig:
    """Training defaults of method.md §2 (paper values; per-dataset ones are set by the config)."""

    objective: str = "full"
    epochs: int = 100
    lr: float = 1e-3
    batch_size: int = 30
    n_ce: int = 1000
    burnin: float = 0.0
    lambda_clf: float = 1.0
    lambda_div: float = 0.5
    lambda_reg: float = 0.1
    lambda_adv: float = 0.25
    generator: str = "ecco"
    generator_params: dict = field(default_factory=lambda: generator_class("ecco").defaults())
    step_size: float = STEP_SIZE  # method.md §10.15
    categorical: str = TRAINING_DEFAULT  # off | project | project_exact, method.md §10.17
    max_iter: int = 30
    tau: float = TRAINING_TAU  # CounterfactualTraining.jl's default; the config sets it per dataset
    epsilon: float = 0.3
    seed: int = 2025
    device: str = "cpu"
    max_skipped_share: float = 0.05
    # Parameters of an objective with its own batch loss (pgd_at, jem: cftrain.baselines), else {}.
    objective_params: dict = field(default_factory=dict)

    @property
    def weights(self) -> LossWeights:
        return LossWeights.for_objective(
            self.objective, self.lambda_clf, self.lambda_div, self.lambda_reg, self.lambda_adv
        )


def split_sizes(n: int, k: int) -> list[int]:
    """k contiguous near-equal group sizes (differ by ≤ 1, larger first; `TaijaParallel.split_obs`)."""
    base, extra = divmod(n, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def draw_neighbours(
    y_train: torch.Tensor, target: torch.Tensor, n_classes: int, gen: torch.Generator
) -> torch.Tensor:
    """Index of one uniformly drawn training sample whose true label is the target (per item)."""
    order = torch.argsort(y_train, stable=True)
    counts = torch.bincount(y_train, minlength=n_classes)
    offsets = torch.cumsum(counts, 0) - counts
    if (counts[target] == 0).any():
        missing = sorted(set(target[counts[target] == 0].tolist()))
        raise ValueError(
            f"no training sample of target class(es) {missing} to draw a neighbour from"
        )
    u = torch.rand(target.shape[0], generator=gen, dtype=torch.float64)
    pick = (u * counts[target]).long().clamp(max=counts[target] - 1)
    return order[offsets[target] + pick]


def counterfactual_sweep(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, n_classes: int, gen: torch.Generator,
    *, mutability=None, lower=None, upper=None, vae=None, categorical: CategoricalProjection | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:  # fmt: skip
    """One epoch's CT items (method.md §2 step 1) and their statistics. `categorical` projects the
    one-hot groups in the search (off by default, as the original's sweeps, method.md §10.17)."""
    n = x.shape[0]
    n_batches = math.ceil(n / cfg.batch_size)
    n_ce = min(max(cfg.n_ce, n_batches), n)
    idx = torch.randperm(n, generator=gen)[:n_ce].to(x.device)
    factual = x[idx]
    with torch.no_grad():
        predicted = model(factual).argmax(dim=1)
    shift = torch.randint(0, n_classes - 1, (n_ce,), generator=gen).to(x.device)
    target = shift + (shift >= predicted).long()
    generator = build_generator(cfg.generator, vae=vae, **cfg.generator_params)
    result = search_counterfactuals(
        model, factual, target, generator, step_size=cfg.step_size, max_iter=cfg.max_iter, tau=cfg.tau,
        mutability=mutability, lower=lower, upper=upper, epsilon=cfg.epsilon, rng=gen, categorical=categorical,
    )  # fmt: skip
    neighbour = x[draw_neighbours(y.cpu(), target.cpu(), n_classes, gen).to(x.device)]
    counterfactual = torch.where(result.converged[:, None], result.counterfactual, neighbour)
    neighbour = protect_immutable_neighbours(neighbour, counterfactual, mutability)
    items = {
        "counterfactual": counterfactual,
        "neighbour": neighbour,
        "target": target,
        "adversarial": result.adversarial,
        "label": y[idx],
    }
    stats = {
        "mature_share": float(result.converged.float().mean()),
        "mean_steps": float(result.steps.float().mean()),
    }
    return items, stats


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if x.shape[0] == 0:
        return float("nan")
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    cfg: TrainConfig,
    *,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    mutability: torch.Tensor | None = None,
    lower: torch.Tensor | None = None,
    upper: torch.Tensor | None = None,
    vae: nn.Module | None = None,
    categorical: CategoricalProjection | None = None,
    checkpoint: str | Path | None = None,
    progress=None,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train `model` in place with objective `cfg.objective`; returns it and the per-epoch log.

    With `checkpoint`, state is saved there after every epoch and a rerun resumes from it,
    ending with the same weights as an uninterrupted run. `categorical` is the projection of
    `cfg.categorical` for this dataset (`cftrain.categorical.build_projection`), None = off.
    """
    if cfg.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {cfg.objective!r}: use one of {sorted(OBJECTIVES)}")
    device = torch.device(cfg.device)
    model.to(device)
    x_train, y_train = x_train.to(device), y_train.to(device).long()
    x_val = x_train[:0] if x_val is None else x_val.to(device)
    y_val = y_train[:0] if y_val is None else y_val.to(device).long()
    mutability, lower, upper = (
        t.to(device) if t is not None else None for t in (mutability, lower, upper)
    )
    n_classes = int(model(x_train[:1]).shape[1])
    weights = cfg.weights
    on = OBJECTIVES[cfg.objective]
    needs_ce = on.div or on.reg or on.adv
    batch_objective = build_batch_objective(cfg.objective, cfg.objective_params)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1)  # CE sweeps; model init uses `seed`
    batches = list(
        zip(torch.split(x_train, cfg.batch_size), torch.split(y_train, cfg.batch_size), strict=True)
    )
    burnin_epochs = round(cfg.burnin * cfg.epochs)
    loss_terms = ["clf", "div", "reg", "adv"]
    if batch_objective is not None:
        loss_terms += [t for t in batch_objective.terms if t not in loss_terms]
    rows: list[dict] = []
    skipped_total = 0
    start_epoch = 1

    total_steps = len(batches) * cfg.epochs
    if batch_objective is not None:
        batch_objective.setup(
            x_train=x_train, lower=lower, upper=upper, total_steps=total_steps, seed=cfg.seed
        )
    fingerprint = checkpoint_fingerprint(cfg)
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state.get("fingerprint") != fingerprint or state.get("epoch", 0) > cfg.epochs:
            log.warning("checkpoint %s is from other settings; starting from epoch 1", checkpoint)
        else:
            try:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                gen.set_state(state["generator"])
                if batch_objective is not None:
                    batch_objective.load_state_dict(state["objective"])
            except (KeyError, RuntimeError, ValueError, TypeError) as err:
                raise ValueError(
                    f"{checkpoint}: checkpoint does not fit this model ({err}); delete it to start over"
                ) from err
            rows, skipped_total, start_epoch = state["rows"], state["skipped"], state["epoch"] + 1
            log.info("resuming from epoch %d (checkpoint %s)", start_epoch, checkpoint)

    for epoch in range(start_epoch, cfg.epochs + 1):
        tic = time.perf_counter()
        stats = {"mature_share": float("nan"), "mean_steps": float("nan")}
        groups = [None] * len(batches)
        if needs_ce and epoch > burnin_epochs:
            items, stats = counterfactual_sweep(
                model, x_train, y_train, cfg, n_classes, gen,
                mutability=mutability, lower=lower, upper=upper, vae=vae, categorical=categorical,
            )  # fmt: skip
            sizes = split_sizes(items["target"].shape[0], len(batches))
            split = {k: torch.split(v, sizes) for k, v in items.items()}
            groups = [{k: split[k][i] for k in split} for i in range(len(batches))]
        model.train()
        sums: dict[str, float] = {}
        skipped = 0
        for (xb, yb), group in zip(batches, groups, strict=True):
            if batch_objective is None:
                loss, terms = ct_loss(model, xb, yb, weights, group)
            else:
                loss, terms = batch_objective.loss(model, xb, yb)
            if not torch.isfinite(loss):
                skipped += 1
                continue
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
        used = max(len(batches) - skipped, 1)
        skipped_total += skipped
        model.eval()
        row = {
            "epoch": epoch,
            "train_accuracy": _accuracy(model, x_train, y_train),
            "val_accuracy": _accuracy(model, x_val, y_val),
            **{f"loss_{k}": sums.get(k, float("nan")) / used for k in loss_terms},
            **stats,
            "skipped_steps": skipped,
            "seconds": time.perf_counter() - tic,
        }
        rows.append(row)
        if progress is not None:
            progress(row)
        # The count only grows: fail as soon as the run cannot pass, before checkpointing it.
        check_skipped(skipped_total, total_steps, cfg.max_skipped_share, epoch)
        if checkpoint is not None:
            state = {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": gen.get_state(), "rows": rows, "skipped": skipped_total, "epoch": epoch,
                "fingerprint": fingerprint,
            }  # fmt: skip
            if batch_objective is not None:
                state["objective"] = batch_objective.state_dict()
            save_checkpoint(checkpoint, state)
    check_skipped(skipped_total, total_steps, cfg.max_skipped_share, cfg.epochs)
    return model, pd.DataFrame(rows)


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
