"""Batched counterfactual search (method.md §3 "Common search", §2 step 4, §1 AE definition).

All factuals of a sweep move as one tensor. Per-sample losses are *summed*, so every sample's gradient
is exactly its own (method.md §10.15) and the batch equals running CE.jl's search one factual at a
time. Each step: g = ∇ₛ[CE(M(x′), y⁺) + penalty]; Δ = −η·g (NaN → 0); mutability mask on Δ; s += Δ;
clamp to the domain box; a sample stops as soon as p(y⁺|x′) ≥ τ (frozen from then on) or after T
steps. The adversarial example is the last iterate with ‖x′ₜ − x‖∞ ≤ ε (t = 0 included), tracked on
the fly without storing the path.

With a `categorical` projection (method.md §10.17, `cftrain.categorical`) every decoded state is
projected before the loss and the convergence check, the gradient passes the projection as the
identity, the state is re-encoded from the projected point after every step, and the box clamps the
continuous columns only — CE.jl's `decode_state`/`update!`. Without one the search is unchanged.

Performance only: the unprojected feature-space step runs as one numba-compiled pass where that
gives the same bits (`cftrain.fused_step`), else as PyTorch passes over cache-sized row blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cftrain import fused_step
from cftrain.categorical import CategoricalProjection, straight_through
from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.generators.base import Generator

# The one default of the search step η, read by training (`TrainConfig`), the test-time protocol and
# the config (`cftrain.config`) alike. 0.1 is Flux's `Descent()` default: the original built every
# CE-search optimiser without an argument, so its configured 0.25 never reached the search
# (method.md §3 table, §10.15).
STEP_SIZE = 0.1
# Default decision threshold τ of a search called without one: CE.jl's `DecisionThresholdConvergence`
# default. CT training has its own (cftrain.training.TRAINING_TAU = 0.75, the CT package default);
# the workflow config sets τ per dataset (method.md §2) and τ_eval at test time (§6.1).
TAU = 0.5
# Bytes per row block of the feature-space step (`step_rows`): small enough that the block's
# tensors stay in a core's L2 cache between the step's passes (performance only).
BLOCK_BYTES = 512 * 1024
# Smallest block (entries) whose NaN/inf replacement is guarded by a finiteness check of its sum.
FINITE_CHECK_MIN = 1 << 16


@dataclass
class SearchResult:
    """Plain tensors: factual (n,d), counterfactual (n,d), target (n,), converged (n,) bool,
    steps (n,) int32, adversarial (n,d)."""

    factual: torch.Tensor
    counterfactual: torch.Tensor
    target: torch.Tensor
    converged: torch.Tensor
    steps: torch.Tensor
    adversarial: torch.Tensor


def _clamp(x: torch.Tensor, lower: torch.Tensor | None, upper: torch.Tensor | None) -> torch.Tensor:
    if lower is None and upper is None:
        return x
    return torch.clamp(x, min=lower, max=upper)


def _uniform(bound: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | float | None:
    """A bound vector of `dtype` whose entries are all equal as that one number (a float, exact
    in `dtype`), else as it is."""
    if bound is None or bound.dim() == 0 or bound.numel() == 0 or bound.dtype != dtype:
        return bound
    first = bound.reshape(-1)[0]
    return float(first) if bool((bound == first).all()) else bound


def _has_negative_zero(t: torch.Tensor | None) -> bool:
    return t is not None and bool(((t == 0) & torch.signbit(t)).any())


class _StepMask:
    """`constraints.apply_mutability` with its masks built once per search instead of every step.

    Performance only, same values: `none` columns are filled with +0.0 in place (`index_fill_` on
    the immutable columns ≡ `where(codes == NONE, 0, Δ)`, without 3 full-size `where`s and 2
    clamps per call); `increase`/`decrease` run the same `where` as `apply_mutability`, and only
    when such features exist. Modifies `delta` in place: pass a tensor the search owns. In the
    search the fill is usually fused into adding the move (`multiply`, `add_to`).
    """

    def __init__(self, codes: torch.Tensor | None):
        self.fixed = self.increase = self.decrease = None
        self.keep: torch.Tensor | None = None
        if codes is None:
            return
        fixed = (codes == NONE).nonzero().squeeze(1)
        self.fixed = fixed if fixed.numel() else None
        self.increase = codes == INCREASE if bool((codes == INCREASE).any()) else None
        self.decrease = codes == DECREASE if bool((codes == DECREASE).any()) else None

    def multiply(self, fixed_values: torch.Tensor, like: torch.Tensor) -> None:
        """Zero the `none` columns by multiplying with a 1/0 column vector (one contiguous pass
        instead of a strided `index_fill_`, 4× faster at d = 784) when that gives the same search:
        a move of ±0 leaves a fixed value v as it is if v is finite and not −0.0 (v + (−0) = v,
        +0 + (−0) = +0; only −0.0 + −0.0 = −0.0 ≠ −0.0 + +0 and ±inf·0 = NaN differ).
        `fixed_values` are the start's values in the `none` columns, which never change; `like` a
        state (dtype, device, d)."""
        if self.fixed is None:
            return
        if bool(torch.isfinite(fixed_values).all()) and not _has_negative_zero(fixed_values):
            keep = torch.ones(like.shape[1], dtype=like.dtype, device=like.device)
            self.keep = keep.index_fill_(0, self.fixed, 0.0)

    def add_to(self, base: torch.Tensor, delta: torch.Tensor, fill: bool = True) -> torch.Tensor:
        """base + mask(delta), in `delta` itself (unless an `increase`/`decrease` mask's `where`
        made a new tensor). With the 1/0 multiplier the fill and the add are one pass, `addcmul`:
        delta·keep is exact (keep ∈ {0, 1}), so base + delta·keep rounds once, fused or not — the
        value of fill-then-add. `increase`/`decrease` act on other columns than the fill, so they
        go first."""
        if fill and self.keep is not None:
            return torch.addcmul(base, self(delta, fill=False), self.keep, out=delta)
        return self(delta, fill).add_(base)

    def scaled_add_to(
        self, base: torch.Tensor, g: torch.Tensor, scale: float
    ) -> torch.Tensor | None:
        """base + mask(scale·g) in one pass, in `g`: `addcmul(base, g, keep, value=scale)` where
        that is the value of `add_to(base, g·scale)`, else None (nothing written). It is when only
        `none` columns are masked (by `keep`) and the caller knows every scale·g to be finite (no
        NaN/inf replacement due): addcmul rounds scale·g first, as the separate scaling does, and
        ×keep and the add are `add_to`'s."""
        if self.keep is None or self.increase is not None or self.decrease is not None:
            return None
        return torch.addcmul(base, g, self.keep, value=scale, out=g)

    def __call__(self, delta: torch.Tensor, fill: bool = True) -> torch.Tensor:
        """`fill=False` skips the `none` fill: for a move whose `none` columns are already +0."""
        if fill and self.fixed is not None:
            delta.index_fill_(1, self.fixed, 0.0)
        if self.increase is not None:
            delta = torch.where(self.increase, delta.clamp(min=0), delta)
        if self.decrease is not None:
            delta = torch.where(self.decrease, delta.clamp(max=0), delta)
        return delta


def search_counterfactuals(
    model: nn.Module,
    factual: torch.Tensor,
    target: torch.Tensor,
    generator: Generator,
    *,
    step_size: float = STEP_SIZE,
    max_iter: int = 30,
    tau: float | None = TAU,
    mutability: torch.Tensor | None = None,
    lower: torch.Tensor | None = None,
    upper: torch.Tensor | None = None,
    epsilon: float = 0.3,
    rng: torch.Generator | None = None,
    start: torch.Tensor | None = None,
    categorical: CategoricalProjection | None = None,
) -> SearchResult:
    """Run the search for all rows of `factual` (n, d) towards `target` (n,) at once.

    `tau=None` means max-iteration convergence (every sample takes `max_iter` steps; converged = True
    at the end, CE.jl `MaxIterConvergence`). `mutability` holds per-feature codes (d,) of
    `cftrain.constraints`; `lower`/`upper` the domain box (d,). `rng` drives REVISE's re-encoding.
    `start` (n, d) replaces the identity initialisation (CE.jl `:add_perturbation` passes the
    factual plus noise); penalties still measure distance to `factual`. `categorical` projects the
    one-hot groups and binary columns of every decoded state (ties drawn from `rng`).
    """
    was_training = model.training
    model.eval()
    x0 = factual.detach()
    target = target.to(device=x0.device, dtype=torch.long)
    n = x0.shape[0]
    latent = generator.latent
    project = categorical if categorical else None
    if project is not None:
        mutability = project.freeze_groups(mutability)
        lower, upper = project.unclamped(lower, upper)
    mask = _StepMask(mutability)
    # The box as the step's clamp takes it: one number per side when every feature has the same
    # bound (the scalar kernel is faster; `clamp` compares the same values either way).
    clamp_low, clamp_high = (_uniform(b, x0.dtype) for b in (lower, upper))
    if isinstance(clamp_low, torch.Tensor) or isinstance(clamp_high, torch.Tensor):
        clamp_low, clamp_high = lower, upper  # (`clamp` takes two numbers or two tensors)
    with torch.no_grad():
        init = x0 if start is None else start.detach()
        state = generator.encode(init, rng) if latent else init
    if mask.fixed is not None and project is None and not latent:
        mask.multiply(state.index_select(1, mask.fixed), state)
    # CE.jl's step (`update!`): Δ = (s − η·g) − s, NaN → 0, mask, s + Δ, *then* the clamp, so a
    # clamped feature lands exactly on its bound. In round-to-nearest ((s + d) − s) + s is s + d
    # (tests/test_properties.py), so the step computes clamp(s + mask(−η·g)) — but for one case:
    # s = −0.0 with d = −0.0 (a zero gradient) stays −0.0 where the round trip gives +0.0. A state
    # holds −0.0 only where its start does (or the clamp puts a −0.0 bound), and after one step
    # with the round trip no more: that step takes it (`round_trip`). Our protection on
    # top: a start value outside the box in a column the mask restricts (`none`, `increase`,
    # `decrease`) would be moved by the clamp against its mutability — only then (`protect`) is
    # the clamped move re-masked where the mask changes it (the original's boxes held the data).
    round_trip = not latent and _has_negative_zero(state)
    negative_zero_bound = not latent and (_has_negative_zero(lower) or _has_negative_zero(upper))
    round_trip = round_trip or negative_zero_bound
    protect = False
    if not latent and mutability is not None and (lower is not None or upper is not None):
        restricted = (mutability != BOTH).nonzero().squeeze(1)
        if restricted.numel():
            values = state.index_select(1, restricted)
            low, high = (
                b.index_select(0, restricted) if b is not None and b.dim() else b
                for b in (lower, upper)
            )
            protect = not torch.equal(_clamp(values, low, high), values)  # (NaN: protect)
    # Outputs: every sample's row is written once, when it leaves the search (converged or T).
    final_state = torch.empty_like(state)  # (every row is written: no copy of the input)
    adversarial = torch.empty_like(x0)
    steps = torch.zeros(n, dtype=torch.int32, device=x0.device)
    converged = torch.zeros(n, dtype=torch.bool, device=x0.device)

    # Performance: the samples still searching are a compact working set (`rows` = their indices,
    # in the original order), shrunk only when some leave, instead of gathering every tensor by an
    # index and scattering it back at every step; working tensors are never modified in place.
    # Every sample in the set has taken `step` steps. Forward and backward run on exactly the
    # rows, in the order, of the former per-step gather, so results are bit-identical to it.
    rows = torch.arange(n, device=x0.device)
    x_fact, tgt = x0, target
    # The adversarial example without a per-step copy: `adv_inside` marks the rows whose last
    # iterate `adv_x` lies in the ε-ball (their AE is that iterate); the other rows' AE is stored
    # in `adv` (the factual at t = 0). A row's iterate is copied into `adv` only when it leaves
    # the ball, which is what `where(inside, x_new, adv)` at every step amounts to.
    adv = x0
    adv_inside = torch.zeros(n, dtype=torch.bool, device=x0.device)
    adv_x: torch.Tensor | None = None  # the last iterate (x_new of the last step) or None
    adv_owned = False  # `adv` is a tensor only the search holds (may be updated in place)

    def leave(which: torch.Tensor | None, taken: int, done: bool) -> None:
        """Write the rows `which` (bool over the working set; None = all) to the outputs."""
        if which is None:
            sel, s_out, a_out, a_in, a_x = rows, current, adv, adv_inside, adv_x
        else:
            # index_select/index_copy_ with one nonzero: several times faster than bool indexing.
            at = which.nonzero().squeeze(1)
            sel, s_out, a_out, a_in = (
                t.index_select(0, at) for t in (rows, current, adv, adv_inside)
            )
            a_x = None if adv_x is None else adv_x.index_select(0, at)
        if a_x is not None and bool(a_in.any()):
            a_out = a_x if bool(a_in.all()) else torch.where(a_in[:, None], a_x, a_out)
        final_state.index_copy_(0, sel, s_out)
        adversarial.index_copy_(0, sel, a_out)
        steps.index_fill_(0, sel, taken)
        if done:
            converged.index_fill_(0, sel, True)

    # The ℓ1 term's gradient in closed form (Generator.l1_weight; feature space only, where the
    # differentiated state is x itself).
    l1_weight = 0.0 if latent else float(generator.l1_weight())
    # Row blocks of BLOCK_BYTES keep the feature-space step's dozen passes in the core's cache, with
    # one block-sized scratch buffer (performance; every operation is row by row, so the blocks
    # change no value).
    block = max(1, BLOCK_BYTES // max(1, state.shape[1] * state.element_size()))
    # The same step as one compiled pass where it applies (`cftrain.fused_step`: bit-identical).
    fused = None
    monotone = mask.increase is not None or mask.decrease is not None
    if not (latent or project is not None or protect or monotone) and fused_step.applies(
        state, x0, mask.keep, mask.fixed is not None, lower, upper
    ):
        keep_all = mask.keep if mask.keep is not None else torch.ones(state.shape[1])
        fused = fused_step.FusedStep(
            keep_all, lower, upper, l1_weight=l1_weight, step_size=step_size
        )
    scratch = torch.empty((min(block, n), state.shape[1]), dtype=state.dtype, device=state.device)

    def step_rows(g, s_old, x_fact, s, dist=None) -> torch.Tensor | None:
        """One feature-space step of a block of rows, in place: `g` (the gradient at s) becomes
        x_new = clamp(s_old + mask(Δ)), Δ = −η·(g + λ·sgn(s − x_fact)) — re-masked as
        s_old + mask(x_new − s_old) if `protect`.
        Unless projected, also ‖x_new − x_fact‖∞ per row, into `dist` if given, else returned."""
        scr = scratch[: g.shape[0]]
        # + ∇ₓ λ‖x − x_fact‖₁ = λ·sgn(x − x_fact), the values autograd computes (here x = s);
        # λ·sgn is exact, so adding it with `alpha` — fused or not — rounds the same once.
        if l1_weight:
            g.add_(torch.sub(s, x_fact, out=scr).sgn_(), alpha=l1_weight)
        # NaN → 0 (and ±inf → ±max) in Δ. On a large block a finite sum (every entry finite) saves
        # the pass; on a small one the check would cost more than the pass. With |η| ≤ 1 the sum
        # is taken over g (Δ = −η·g is finite where g is), so the scaling can join the masked add.
        big = g.numel() >= FINITE_CHECK_MIN
        finite = big and abs(step_size) <= 1 and math.isfinite(g.sum().item())
        x = mask.scaled_add_to(s_old, g, -step_size) if finite else None
        if x is None:
            g.mul_(-step_size)
            if not finite and not (big and math.isfinite(g.sum().item())):
                g.nan_to_num_(nan=0.0)
            x = mask.add_to(s_old, g)  # = s_old + mask(Δ)
        if round_trip:  # (only a −0.0 in the state makes it differ from x itself)
            x.sub_(s_old).nan_to_num_(0.0, math.inf, -math.inf).add_(s_old)  # (CE.jl: NaN → 0)
        if lower is not None or upper is not None:
            x.clamp_(min=clamp_low, max=clamp_high)
        if protect:  # the clamp must not break mutability (a start outside the box)
            move = x - s_old
            kept = mask(move.clone())
            x = torch.where(kept == move, x, kept.add_(s_old))  # (NaN move: s_old + mask(NaN))
        if x is not g:  # (`increase`/`decrease` masks return new tensors)
            g.copy_(x)
        if project is not None:
            return None
        # the ε-ball distance of these rows while they are cached
        gap = torch.sub(g, x_fact, out=scr).abs_()
        return gap.amax(dim=1) if dist is None else torch.amax(gap, dim=1, out=dist)

    step = 0
    for step in range(max_iter + 1):
        if rows.numel() == 0:
            break
        if project is None:
            s = state.detach().requires_grad_(True)
            x = _clamp(generator.decode(s), lower, upper) if latent else s
            current = state
        elif latent:
            s = state.detach().requires_grad_(True)
            x = _clamp(generator.decode(s), lower, upper)
            x = straight_through(x, project(x.detach(), rng))
            current = state
        else:
            # The leaf is the projected state: its gradient is the straight-through one.
            s = project(state.detach(), rng).requires_grad_(True)
            x = s
            current = x.detach()
        logits = model(x)
        keep = None  # None: every row of the working set keeps searching
        if tau is not None:
            with torch.no_grad():
                prob = torch.softmax(logits.detach(), dim=1).gather(1, tgt[:, None]).squeeze(1)
                done = prob >= tau
            if done.any():
                leave(done, step, True)
                keep = ~done
        if step == max_iter:
            break
        if keep is not None and not keep.any():
            rows = rows[:0]
            break
        loss = F.cross_entropy(logits, tgt, reduction="sum")
        if l1_weight:
            pen = generator.penalty(x, x_fact, logits, tgt, step, max_iter, l1=False)
        else:
            pen = generator.penalty(x, x_fact, logits, tgt, step, max_iter)
        (grad,) = torch.autograd.grad(loss + pen.sum(), s)
        with torch.no_grad():
            s_old = state.detach()  # = s unless projected (CE.jl steps from the stored state)
            s_point = s.detach()
            if keep is not None:  # shrink the working set to the rows that go on (the step
                # below is row by row, so selecting before it or after it gives the same values)
                at = keep.nonzero().squeeze(1)
                adv_x_is_state = adv_x is state
                grad, s_old, rows, x_fact, tgt, adv, adv_inside = (
                    t.index_select(0, at) for t in (grad, s_old, rows, x_fact, tgt, adv, adv_inside)
                )
                adv_owned = True
                if adv_x is not None:
                    adv_x = s_old if adv_x_is_state else adv_x.index_select(0, at)
                s_point = (
                    s_point.index_select(0, at) if project is not None and not latent else s_old
                )
            m = rows.numel()
            if latent:
                delta = grad.mul_(-step_size)  # the search owns `grad`
                if delta.numel() < FINITE_CHECK_MIN or not math.isfinite(delta.sum().item()):
                    delta.nan_to_num_(nan=0.0)
                x_new = _clamp(generator.decode(s_old + delta), lower, upper)
                if project is not None:
                    x_new = project(x_new, rng)
                state = generator.encode(x_new, rng)
            elif fused is not None and not round_trip:  # one compiled pass, same values
                dist = torch.empty(m, dtype=grad.dtype, device=grad.device)
                fused(grad, s_old, x_fact, dist)
                x_new = grad  # written in place into the search's own `grad`
            elif m <= block:  # one block: no split
                dist = step_rows(grad, s_old, x_fact, s_point)
                x_new = grad  # written back into the search's own `grad`
            else:
                dist = torch.empty(m, dtype=grad.dtype, device=grad.device)
                blocks = (t.split(block) for t in (grad, s_old, x_fact, s_point, dist))
                for rows_of_block in zip(*blocks, strict=True):
                    step_rows(*rows_of_block)
                x_new = grad  # every block was written back into the search's own `grad`
            if not latent:
                if project is not None:
                    x_new = project(x_new, rng)
                state = x_new
            if latent or project is not None:  # (the blocks measured the unprojected point)
                dist = (x_new - x_fact).abs().amax(dim=1)
            inside = dist <= epsilon  # ‖x_new − x_fact‖∞ ≤ ε
            left_ball = adv_inside > inside  # (True > False: in the ball, now out)
            if adv_x is not None and bool(left_ball.any()):  # AE := their previous iterate
                if not adv_owned:  # `adv` is the caller's factual
                    adv, adv_owned = adv.clone(), True
                at = left_ball.nonzero().squeeze(1)
                adv.index_copy_(0, at, adv_x.index_select(0, at))
            adv_inside, adv_x = inside, x_new  # (the search never writes an iterate in place)
            round_trip = negative_zero_bound  # (no −0.0 left in the state)
    if rows.numel():  # T reached (or max_iter = 0): the rest leave unconverged
        with torch.no_grad():
            leave(None, step, False)

    with torch.no_grad():
        x_cur = _clamp(generator.decode(final_state), lower, upper) if latent else final_state
        if latent and project is not None:
            x_cur = project(x_cur, rng)
    if tau is None:
        converged = steps >= max_iter
    model.train(was_training)
    return SearchResult(
        factual=x0,
        counterfactual=x_cur.detach(),
        target=target,
        converged=converged,
        steps=steps,
        adversarial=adversarial,
    )
