"""The CT loss of method.md §1: λ_clf·CE + λ_div·energy gap + λ_reg·ridge + λ_adv·CE on AEs.

Energy E(x, y) = −M(x)[y]. Each term is a mean over its own set. A term whose weight is 0 is not
computed at all, so CT with λ_div = λ_reg = λ_adv = 0 is bit-identical to vanilla training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Objective:
    """One objective of the ablation (method.md §1): which CT terms are on (CEs are generated when
    any is), and its short name and colour in the figures (method.md §8). `batch_loss`
    ("module:Class", a `cftrain.baselines.BatchObjective`) replaces the CT loss of every mini-batch
    by that class's (issue 15: objectives beyond the paper); its parameters are
    `training.objective_params.<name>:`."""

    div: bool
    reg: bool
    adv: bool
    label: str
    colour: str
    batch_loss: str | None = None


# The objective registry: a name here is accepted by the config, the `{objective}` wildcard and the
# plots (cftrain.validation, cftrain.workflow.objective_pattern, cftrain.plots.common).
OBJECTIVES: dict[str, Objective] = {
    "vanilla": Objective(div=False, reg=False, adv=False, label="BL", colour="tab:gray"),
    "full": Objective(div=True, reg=True, adv=True, label="CT", colour="tab:red"),
    "energy": Objective(div=True, reg=True, adv=False, label="CD", colour="tab:green"),
    "adversarial": Objective(div=False, reg=False, adv=True, label="AR", colour="tab:blue"),
    "pgd_at": Objective(div=False, reg=False, adv=False, label="PGD-AT", colour="tab:cyan",
                        batch_loss="cftrain.baselines.pgd_at:PGDAT"),
    "jem": Objective(div=False, reg=False, adv=False, label="JEM", colour="tab:pink",
                     batch_loss="cftrain.baselines.jem:JEM"),
}  # fmt: skip


@dataclass(frozen=True)
class LossWeights:
    """[λ_clf, λ_div, λ_reg, λ_adv] (paper: 1, 0.5, per dataset, 0.25)."""

    clf: float = 1.0
    div: float = 0.5
    reg: float = 0.1
    adv: float = 0.25

    @classmethod
    def for_objective(
        cls, objective: str, clf: float, div: float, reg: float, adv: float
    ) -> LossWeights:
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}: use one of {sorted(OBJECTIVES)}")
        on = OBJECTIVES[objective]
        return cls(clf, div if on.div else 0.0, reg if on.reg else 0.0, adv if on.adv else 0.0)

    @property
    def needs_counterfactuals(self) -> bool:
        return bool(self.div or self.reg or self.adv)


def target_logit(model_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return model_out.gather(1, target[:, None]).squeeze(1)


def energy_gap(
    logits_pos: torch.Tensor, logits_ce: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """mean[E(x⁺,y⁺) − E(x′,y⁺)] = mean[M(x′)[y⁺] − M(x⁺)[y⁺]] (`implausibility`)."""
    return (target_logit(logits_ce, target) - target_logit(logits_pos, target)).mean()


def energy_ridge(
    logits_pos: torch.Tensor, logits_ce: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """mean[M(x⁺)[y⁺]² + M(x′)[y⁺]²] (`reg_loss`)."""
    return (target_logit(logits_pos, target) ** 2 + target_logit(logits_ce, target) ** 2).mean()


def ct_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    weights: LossWeights,
    ct_items: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of one mini-batch and its terms. `ct_items` has counterfactual, neighbour, target,
    adversarial, label (the factual's true label) for the CT items assigned to this batch."""
    loss = F.cross_entropy(model(x), y)
    terms = {"clf": float(loss.detach())}
    if weights.clf != 1.0:
        loss = weights.clf * loss
    if ct_items is not None and ct_items["target"].numel() > 0:
        if weights.div or weights.reg:
            n = ct_items["target"].shape[0]
            # One forward for x⁺ and x′ together.
            both = model(torch.cat([ct_items["neighbour"], ct_items["counterfactual"]]))
            pos, ce = both[:n], both[n:]
            if weights.div:
                div = energy_gap(pos, ce, ct_items["target"])
                terms["div"] = float(div.detach())
                loss = loss + weights.div * div
            if weights.reg:
                reg = energy_ridge(pos, ce, ct_items["target"])
                terms["reg"] = float(reg.detach())
                loss = loss + weights.reg * reg
        if weights.adv:
            adv = F.cross_entropy(model(ct_items["adversarial"]), ct_items["label"])
            terms["adv"] = float(adv.detach())
            loss = loss + weights.adv * adv
    return loss, terms
