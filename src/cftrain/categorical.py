"""Categorical features in the counterfactual search (method.md §10.17, §10.5).

CE.jl's `decode_state` runs `reconstruct_cat_encoding` on every decoded state: each one-hot group
becomes the one-hot vector of its largest entry (ties: one of the tied entries at random), a group
of a single column (a binary feature) becomes round(clamp(x, 0, 1)). Losses, the convergence check
and the stored counterfactual all see the projected point, and `update!` re-encodes the state from
it, so after every step the state itself is one-hot again. The projection mutates an array inside
a `map` whose result Zygote never differentiates (its pullback is skipped for an unused output),
so the gradient reaches the state as if the projection were the identity: a straight-through
estimator, g = ∇ₓL at the projected x. Domain clamping then applies to the continuous columns only.

Modes (config `training.categorical`, `evaluation.categorical`):
- `off`: one-hot columns are continuous features (the original's training sweeps);
- `project`: groups as the original built them at test time: TaijaData's
  `get_categorical_indices` matches column names by substring, so Adult's `educational-num`
  joins the `education` group (method.md §10.5);
- `project_exact`: each group holds exactly its own variable's one-hot columns.

A group with an immutable (`none`) column is held fixed as a whole, so the projection can never
move an immutable column (CE.jl masks the step before projecting; the paper's runs never protect a
categorical column, so the two agree on them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from cftrain.constraints import NONE

MODES = ("off", "project", "project_exact")
# The one default per phase (method.md §10.17): the original's training sweeps carried no
# categorical information; its test-time searches projected the groups TaijaData returned.
TRAINING_DEFAULT = "off"
EVALUATION_DEFAULT = "project"


def normalise_mode(value) -> str:
    """A config value as a mode name; YAML reads an unquoted `off` as False, which means `off`."""
    if value is False:
        return "off"
    if value not in MODES:
        raise ValueError(f"categorical mode {value!r}: use one of {MODES}")
    return str(value)


def group_columns(
    feature_names: Sequence[str], groups: Mapping[str, Sequence[int]], mode: str
) -> list[list[int]]:
    """Column index groups for `mode` (empty for `off` or data without categoricals).

    `groups` is `DatasetSplits.categorical_groups` ({variable: one-hot columns}). For `project`,
    a column joins a variable's group when the variable's name is a substring of the column's
    source name (its variable for one-hot columns, its own name otherwise), as TaijaData does.
    """
    mode = normalise_mode(mode)
    if mode == "off" or not groups:
        return []
    if mode == "project_exact":
        return [sorted(int(i) for i in cols) for cols in groups.values()]
    source = list(feature_names)
    for var, cols in groups.items():
        for i in cols:
            source[int(i)] = var
    return [[i for i, name in enumerate(source) if var in name] for var in groups]


class CategoricalProjection:
    """`reconstruct_cat_encoding` on a batch (n, d): one torch op sequence per group, no per-sample loop.

    `groups`: lists of column indices; a list of length 1 is a binary column. Ties in a one-hot
    group are broken uniformly at random with the `torch.Generator` passed to `__call__` (drawn
    only when a tie exists, so runs without ties consume no random numbers); without a generator
    the lowest tied column wins.
    """

    def __init__(self, groups: Sequence[Sequence[int]]):
        self.groups = [list(map(int, g)) for g in groups if len(g)]
        self.columns = sorted({i for g in self.groups for i in g})

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A projected copy of `x`; `x` itself is never modified."""
        out = x.clone()
        for cols in self.groups:
            index = torch.as_tensor(cols, device=x.device)
            block = x.index_select(1, index)
            if len(cols) == 1:
                out.index_copy_(1, index, block.clamp(0, 1).round())
                continue
            top = block == block.amax(dim=1, keepdim=True)
            tied = top.sum(dim=1) > 1
            if bool(tied.any()):
                rows = tied.nonzero().squeeze(1)
                top = top.index_copy(0, rows, _break_ties(top.index_select(0, rows), generator))
            out.index_copy_(1, index, top.to(x.dtype))
        return out

    def freeze_groups(self, codes: torch.Tensor | None) -> torch.Tensor | None:
        """Mutability codes with every group that has an immutable column made immutable as a whole."""
        if codes is None or not self.groups:
            return codes
        out = codes.clone()
        for cols in self.groups:
            index = torch.as_tensor(cols, device=codes.device)
            if bool((codes.index_select(0, index) == NONE).any()):
                out.index_fill_(0, index, NONE)
        return out

    def unclamped(
        self, lower: torch.Tensor | None, upper: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The domain box with the categorical columns unbounded (CE.jl clamps continuous features only)."""
        if not self.columns:
            return lower, upper
        out = []
        for bound, value in ((lower, -torch.inf), (upper, torch.inf)):
            if bound is not None:
                bound = bound.clone()
                bound[torch.as_tensor(self.columns, device=bound.device)] = value
            out.append(bound)
        return out[0], out[1]


def _break_ties(top: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One True per row among the True entries of `top` (m, k): uniform under `generator`, else the first."""
    m, k = top.shape
    if generator is not None:
        score = torch.rand((m, k), generator=generator).to(top.device)
    else:
        score = -torch.arange(k, dtype=torch.float32, device=top.device).expand(m, k)
    score = torch.where(top, score, torch.full_like(score, -float(k) - 1.0))
    winner = torch.zeros_like(top)
    return winner.scatter_(1, score.argmax(dim=1, keepdim=True), True)


def straight_through(x: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
    """Value exactly `projected`, gradient the identity to `x` (how Zygote treats CE.jl's projection)."""
    return projected + (x - x.detach())


def build_projection(
    mode: str, feature_names: Sequence[str], groups: Mapping[str, Sequence[int]]
) -> CategoricalProjection | None:
    """The projection of `mode` for a dataset, or None when nothing is projected (bit-identical search)."""
    projection = CategoricalProjection(group_columns(feature_names, groups, mode))
    return projection if projection else None
