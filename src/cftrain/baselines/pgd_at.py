"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018): min_θ E[max_{‖δ‖∞ ≤ ε} CE(M(x + δ), y)], the inner max by ℓ∞ PGD.

The attack is `cftrain.attacks.pgd`, the one the robustness evaluation runs (method.md §6.2):
untargeted on the true labels, in model input units (standardised for tabular data), no clamp to
the data domain (method.md §10.14), so ε here and the evaluation's ε grid are the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from cftrain.attacks import pgd
from cftrain.baselines import BatchObjective


@dataclass
class PGDAT(BatchObjective):
    """Each mini-batch x (n, d) of labels y (n,) is attacked by ℓ∞ PGD with the model of that step.

    Args (defaults; `training.objective_params.pgd_at:` in the config overrides them):
    - epsilon 0.1: the radius, the largest ε of the robustness evaluation (`evaluation.eps_max`);
      Madry et al. train at the radius they evaluate at.
    - steps 10, step_size 0.025: α = 2.5·ε/steps, Madry et al.'s rule for the step (enough to reach
      the ball's boundary from any start); fewer steps than the evaluation's 40 keep training cost
      at ~11× a vanilla epoch.
    - random_start True: δ₀ ~ U(−ε, ε) as in the paper.
    - mode "replace": the paper's objective, the loss on the PGD examples only (log: loss_adv).
      "augment": the clean and PGD rows together, mean CE over the 2n rows (= ½·CE(x) + ½·CE(x_adv),
      Goodfellow et al.'s mix; log: loss_clf and loss_adv).
    With ε = 0 and mode "replace" the examples equal the batch and training is vanilla bit for bit.
    """

    terms: ClassVar[tuple[str, ...]] = ("clf", "adv")

    epsilon: float = 0.1
    steps: int = 10
    step_size: float = 0.025
    random_start: bool = True
    mode: str = field(default="replace", metadata={"schema": {"enum": ["replace", "augment"]}})

    def __post_init__(self) -> None:
        if self.mode not in ("replace", "augment"):
            raise ValueError(f"pgd_at mode must be 'replace' or 'augment', got {self.mode!r}")
        self.generator: torch.Generator | None = None

    def setup(self, *, x_train, lower, upper, total_steps, seed) -> None:
        # Model init uses `seed`, CT's CE sweeps `seed + 1`; the random starts their own stream.
        self.generator = torch.Generator().manual_seed(int(seed) + 2)

    def examples(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The PGD examples (n, d) of the batch, each within ε of its row in ℓ∞."""
        return pgd(model, x, y, self.epsilon, steps=self.steps, alpha=self.step_size,
                   generator=self.generator, random_start=self.random_start)  # fmt: skip

    def loss(self, model, x, y):
        x_adv = self.examples(model, x, y)
        if self.mode == "replace":
            loss = F.cross_entropy(model(x_adv), y)
            return loss, {"adv": float(loss.detach())}
        per_row = F.cross_entropy(model(torch.cat([x, x_adv])), torch.cat([y, y]), reduction="none")
        clean, adv = per_row[: x.shape[0]], per_row[x.shape[0] :]
        terms = {"clf": float(clean.mean().detach()), "adv": float(adv.mean().detach())}
        return per_row.mean(), terms

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
