"""The feature-space search step as one compiled pass (method.md §3 "Common search"): performance only.

`cftrain.search` runs each step of an unprojected feature-space search as about ten PyTorch passes
over the n × d state (ℓ1 sign, its add, a finiteness check, the scaled masked add, the clamp, the
ε-ball distance), blocked in L2 cache. At MNIST size those passes are about half of a search
(benchmarks/README.md, issue 16). This module does the same arithmetic in one numba-compiled loop,
row by row, with every operation PyTorch's: each value is the same float32 operation on the same
operands in the same order, so the result is bit for bit the eager step's
(tests/test_fused_step.py compares them on random and special values: NaN, ±inf, ±0, overflow).

Per entry (CE.jl `update!` order, as `search.step_rows`):

    g ← g + λ·sgn(s − x_fact)                 (only if λ ≠ 0; λ·sgn is exact)
    Δ ← nan_to_num(−η·g)                      (NaN → 0, ±inf → ±float32 max)
    x ← clamp(s + Δ·keep, lower, upper)        (keep ∈ {0, 1}: the immutable columns)
    dist ← max_j |x − x_fact|                  (NaN if any entry is NaN)

`torch.clamp` keeps x when it equals a bound and keeps NaN; `torch.sgn` gives 0 for ±0 and NaN;
both are reproduced. The ε-distance maximum is taken over the bit patterns of the non-negative
|x − x_fact| (ordered as their values, NaN above +inf), which vectorises where a float maximum
with NaN propagation does not; only `dist ≤ ε` is read.

What the step cannot take stays on the eager path (`search.py` asks `applies`): float64 or non-CPU
tensors, a start holding NaN, `increase`/`decrease` masks, a mask that had to fill instead of
multiply, NaN bounds, the steps that need CE.jl's −0.0 round trip, the `protect` re-mask,
projections and latent search.

numba is a dependency; without it (an unsupported platform) or with `CFTRAIN_FUSED_STEP=off` the
eager step runs, with the same results. The kernel is compiled once and cached on disk by numba
(`cache=True`: beside this file, else in numba's user cache directory); the fork server loads it
before it forks (`warm`).
"""

from __future__ import annotations

import functools
import os
import warnings

import torch

ENV = "CFTRAIN_FUSED_STEP"  # "off": always the eager step (A/B checks, debugging)


def enabled() -> bool:
    return os.environ.get(ENV, "on").strip().lower() not in {"off", "0", "false", "no"}


@functools.cache
def _kernel():
    """The compiled step, or None without a working numba (then with a warning). Compiled, or
    loaded from numba's disk cache, and run once on a 1 × 1 case, at the first call."""
    try:
        import numba
        import numpy as np
    except ImportError:  # (numba is a dependency; tested with it hidden)
        warnings.warn("numba is not installed: the search runs its eager step", stacklevel=2)
        return None

    fmax = np.float32(np.finfo(np.float32).max)

    def step(g, s, x_fact, keep, lower, upper, l1, neg_eta, dist_bits):  # pragma: no cover
        # (compiled: coverage cannot see inside; tests compare it with the eager step)
        m, d = g.shape
        zero = np.float32(0.0)
        one = np.float32(1.0)
        gap = np.empty(d, dtype=np.float32)
        gap_bits = gap.view(np.int32)
        for i in range(m):
            gi, si, fi = g[i], s[i], x_fact[i]
            if l1 != zero:  # torch: g.add_(sgn(s − x_fact), alpha=λ)
                for j in range(d):
                    diff = si[j] - fi[j]
                    sign = (one if diff > zero else zero) - (one if diff < zero else zero)
                    gi[j] = gi[j] + l1 * sign
            for j in range(d):
                delta = gi[j] * neg_eta  # torch: g·(−η) in float32
                delta = zero if delta != delta else delta  # nan_to_num
                delta = fmax if delta > fmax else delta
                delta = -fmax if delta < -fmax else delta
                x = si[j] + delta * keep[j]  # (Δ·keep is exact)
                # torch.clamp: max(x, lower), then min(·, upper); x itself where equal, NaN kept
                x = lower[j] if x < lower[j] else x
                x = upper[j] if x > upper[j] else x
                gi[j] = x
                gap[j] = abs(x - fi[j])
            top = np.int32(0)
            for j in range(d):
                bits = gap_bits[j]
                top = bits if bits > top else top
            dist_bits[i] = top

    one = np.ones((1, 1), dtype=np.float32)
    row = np.ones(1, dtype=np.float32)
    try:
        try:
            kernel = numba.njit(cache=True, nogil=True, boundscheck=False)(step)
        except RuntimeError:  # no writable cache directory: compile in each process instead
            kernel = numba.njit(nogil=True, boundscheck=False)(step)
        kernel(
            one.copy(),
            one,
            one,
            row,
            -row,
            row,
            np.float32(0),
            np.float32(-0.1),
            np.zeros(1, np.int32),
        )
    except Exception as error:  # pragma: no cover - a broken numba installation
        warnings.warn(
            f"numba could not compile the search step ({error}): eager step", stacklevel=2
        )
        return None
    return kernel


def warm() -> bool:
    """Compile (or load) the kernel now; True if it is usable. Called by the fork server before it
    forks, so jobs start with the kernel ready (numpy only: no torch operation, which could start
    torch's thread pool in the server)."""
    return enabled() and _kernel() is not None


class FusedStep:
    """The step of one search, bound to its mask, box, λ and η: `step(g, s, x_fact, dist)` writes
    x_new into `g` and ‖x_new − x_fact‖∞ per row into `dist` (all float32, CPU, contiguous)."""

    def __init__(
        self,
        keep: torch.Tensor,
        lower: torch.Tensor | None,
        upper: torch.Tensor | None,
        *,
        l1_weight: float,
        step_size: float,
    ):
        import numpy as np

        d = keep.shape[0]
        self._keep = keep.detach().to(torch.float32).contiguous().numpy()
        self._lower, self._upper = (
            torch.broadcast_to(
                torch.as_tensor(b if b is not None else fill, dtype=torch.float32), (d,)
            )
            .contiguous()
            .numpy()
            for b, fill in ((lower, -float("inf")), (upper, float("inf")))
        )
        self._l1 = np.float32(l1_weight)  # torch casts `alpha` to the tensor's dtype
        self._neg_eta = np.float32(-step_size)  # and the scalar of `mul_`/`addcmul`
        self._kernel = _kernel()

    def __call__(
        self, g: torch.Tensor, s: torch.Tensor, x_fact: torch.Tensor, dist: torch.Tensor
    ) -> None:
        self._kernel(
            g.numpy(),
            s.contiguous().numpy(),
            x_fact.contiguous().numpy(),
            self._keep,
            self._lower,
            self._upper,
            self._l1,
            self._neg_eta,
            dist.view(torch.int32).numpy(),
        )


def applies(
    state: torch.Tensor,
    factual: torch.Tensor,
    keep: torch.Tensor | None,
    masked: bool,
    lower: torch.Tensor | None,
    upper: torch.Tensor | None,
) -> bool:
    """Whether a search may use the fused step: a float32 CPU state without NaN and a float32
    factual of its shape, a mask that is a 1/0 multiplier (`keep`) or none at all (`masked`
    False), float32 bounds without NaN, numba present and not switched off. (−0.0 bounds,
    `protect` and projections are the caller's to exclude.)"""
    if not enabled() or state.dtype != torch.float32 or state.device.type != "cpu":
        return False
    if factual.dtype != torch.float32 or factual.shape != state.shape:
        return False
    if state.dim() != 2 or (masked and keep is None):
        return False
    for bound in (lower, upper):
        if bound is not None and (bound.dtype != torch.float32 or bool(torch.isnan(bound).any())):
            return False
    # A NaN in the state can only come from the start (Δ is finite after its NaN → 0, and the
    # clamp's bounds hold none), and PyTorch's tensor-bound clamp replaces a NaN by its own NaN
    # bits: such searches stay eager.
    if bool(torch.isnan(state).any()):
        return False
    return _kernel() is not None
