"""Joint Energy-based Model training (Grathwohl et al., "Your Classifier is Secretly an Energy
Based Model and You Should Treat it Like One", ICLR 2020): log p(y|x) + log p(x) with the
classifier's logits f(x) read as an energy E(x) = −logsumexp_y f(x)[y].

Per mini-batch: loss = CE(f(x), y) + λ_gen·(mean E(x) − mean E(x̂)), the negatives x̂ drawn by SGLD
(cftrain.sgld) started from a persistent replay buffer, a share of the starts re-drawn from the
initial distribution (uniform in the data's domain box; JEM: U(−1, 1), its image domain). The
known instability — energies diverging to ±∞ — is guarded: a batch with a non-finite energy or
sample is skipped (no optimiser step), counted, and past `max_nonfinite_share` of the run's
planned steps training fails with a `TrainingError` saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from cftrain.baselines import BatchObjective
from cftrain.sgld import sgld, uniform_in_box
from cftrain.training import TrainingError


def free_energy(logits: torch.Tensor) -> torch.Tensor:
    """E(x) = −logsumexp_y f(x)[y] (n,) from logits (n, K)."""
    return -torch.logsumexp(logits, dim=1)


@dataclass
class JEM(BatchObjective):
    """JEM's generative term on top of cross-entropy.

    Args (defaults = the paper's CIFAR-10 values; `training.objective_params.jem:` in the config scales them per
    dataset, see config/config.yaml):
    - buffer_size 10000: replay-buffer samples (the paper: 10,000 for 50,000 training images).
    - reinit_share 0.05: share of each batch's SGLD starts drawn afresh from the uniform box
      (the paper: reinit_freq 0.05, a Bernoulli per start; here exactly round(share·n) starts, the
      same expectation, so the share is what the config says).
    - sgld_step 1.0, sgld_noise 0.01, sgld_steps 20: x ← x − α·∇E(x) + σ·ξ, 20 steps per batch.
    - lambda_gen 1.0: weight of the generative term (the paper's p_x_weight).
    - max_nonfinite_share 0.05: share of planned steps that may meet a non-finite energy or
      sample before the run fails (as CT's `max_skipped_share`).
    """

    terms: ClassVar[tuple[str, ...]] = ("clf", "gen")

    buffer_size: int = 10000
    reinit_share: float = 0.05
    sgld_step: float = 1.0
    sgld_noise: float = 0.01
    sgld_steps: int = 20
    lambda_gen: float = 1.0
    max_nonfinite_share: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.reinit_share <= 1.0:
            raise ValueError(f"jem reinit_share must be in [0, 1], got {self.reinit_share}")
        if self.buffer_size < 1:
            raise ValueError(f"jem buffer_size must be positive, got {self.buffer_size}")
        self.generator: torch.Generator | None = None
        self.buffer: torch.Tensor | None = None
        self.nonfinite = 0
        self.total_steps = 0

    def setup(self, *, x_train, lower, upper, total_steps, seed) -> None:
        # Model init uses `seed`, CT's CE sweeps `seed + 1`; the buffer and SGLD noise `seed + 2`.
        self.generator = torch.Generator().manual_seed(int(seed) + 2)
        if lower is None or upper is None:
            lower, upper = x_train.min(dim=0).values, x_train.max(dim=0).values
        self.lower, self.upper = lower.detach().cpu().float(), upper.detach().cpu().float()
        self.buffer = self.fresh(self.buffer_size)
        self.nonfinite, self.total_steps = 0, int(total_steps)

    def fresh(self, n: int) -> torch.Tensor:
        """`n` new starts (n, d), uniform in the domain box."""
        return uniform_in_box(n, self.lower, self.upper, self.generator)

    def starts(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(buffer rows, starts (n, d)): n distinct buffer rows, round(reinit_share·n) of them
        (at random positions) replaced by fresh uniform draws."""
        if n > self.buffer_size:
            raise ValueError(f"jem buffer_size {self.buffer_size} is smaller than a batch ({n})")
        rows = torch.randperm(self.buffer_size, generator=self.generator)[:n]
        start = self.buffer[rows].clone()
        k = round(self.reinit_share * n)
        reinit = torch.randperm(n, generator=self.generator)[:k]
        start[reinit] = self.fresh(k)
        return rows, start

    def sample(self, model, n: int, device) -> torch.Tensor:
        """n SGLD negatives (n, d) from the buffer; they are written back to it (a non-finite one
        is replaced by a fresh draw there, so it does not poison later batches)."""
        rows, start = self.starts(n)
        samples = sgld(lambda z: free_energy(model(z)), start.to(device), steps=self.sgld_steps,
                       step_size=self.sgld_step, noise=self.sgld_noise, generator=self.generator)  # fmt: skip
        keep = samples.detach().cpu()
        bad = ~torch.isfinite(keep).all(dim=1)
        keep[bad] = self.fresh(int(bad.sum()))
        self.buffer[rows] = keep
        return samples

    def loss(self, model, x, y):
        samples = self.sample(model, x.shape[0], x.device)
        logits = model(x)
        e_data, e_neg = free_energy(logits), free_energy(model(samples))
        if not (torch.isfinite(e_data).all() and torch.isfinite(e_neg).all()):
            self.count_nonfinite()
            return torch.tensor(float("nan")), {}
        clf = F.cross_entropy(logits, y)
        gen = e_data.mean() - e_neg.mean()
        terms = {"clf": float(clf.detach()), "gen": float(gen.detach())}
        return clf + self.lambda_gen * gen, terms

    def count_nonfinite(self) -> None:
        """Count one batch with a non-finite energy; fail once more than the allowed share of the
        run's planned steps had one (the count only grows, so fail as soon as it cannot pass)."""
        self.nonfinite += 1
        if self.total_steps and self.nonfinite / self.total_steps > self.max_nonfinite_share:
            raise TrainingError(
                f"jem: {self.nonfinite} of {self.total_steps} planned steps met a non-finite "
                f"energy (E(x) = -logsumexp f(x) of the data or of the SGLD samples; "
                f"{self.nonfinite / self.total_steps:.1%} > max_nonfinite_share "
                f"{self.max_nonfinite_share:.1%}); no model written — lower sgld_step, lambda_gen "
                "or the learning rate (training.objective_params.jem)"
            )

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "buffer": self.buffer,
                "nonfinite": self.nonfinite}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.buffer = state["buffer"].clone()
        self.nonfinite = int(state["nonfinite"])
