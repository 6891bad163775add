"""Helpers shared by the figure renderers (method.md §8): reading inputs with errors that name the
file, labels of objectives, MNIST image mosaics and saving one figure to every output path."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cftrain.datasets.registry import LABELS  # noqa: E402
from cftrain.generators import GENERATORS  # noqa: E402
from cftrain.io import atomic_path  # noqa: E402
from cftrain.objective import OBJECTIVES  # noqa: E402
from cftrain.store import CounterfactualSet, read_counterfactuals  # noqa: E402


def _objective_names() -> tuple[dict[str, str], dict[str, str]]:
    """Labels and colours of every objective wildcard, derived from the objective and generator
    registries: `full` → "CT", `full-generic` → "CT (Generic)" in the generator's colour."""
    labels = {name: spec.label for name, spec in OBJECTIVES.items()}
    colours = {name: spec.colour for name, spec in OBJECTIVES.items()}
    for base, spec in OBJECTIVES.items():
        for name, generator in GENERATORS.items():
            labels[f"{base}-{name}"] = f"{spec.label} ({generator.label})"
            colours[f"{base}-{name}"] = generator.colour or spec.colour
    return labels, colours


# The paper's short names (method.md §8 Figs. 4–5 and the update slides) and fixed colours, so
# every figure draws BL/AR/CD/CT the same way.
OBJECTIVE_LABELS, OBJECTIVE_COLOURS = _objective_names()
DATASET_LABELS = LABELS  # display names, in the paper's order (cftrain.datasets.registry)


def objective_label(objective: str) -> str:
    return OBJECTIVE_LABELS.get(objective, objective)


def dataset_label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)


def ordered(values, preferred) -> list:
    """Unique `values` in the order of `preferred`, unknown ones after it in order of appearance."""
    values = list(dict.fromkeys(values))
    rank = {v: i for i, v in enumerate(preferred)}
    return sorted(values, key=lambda v: (rank.get(v, len(rank)), values.index(v)))


def read_table(path: str, **filters) -> pd.DataFrame:
    """Rows of the tidy CSV `path` matching every column=value filter; raise naming the file when
    the file or the selection is empty."""
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path}: table is empty") from err
    for column, value in filters.items():
        if column not in df.columns:
            raise ValueError(f"{path}: no column {column!r} (columns {list(df.columns)})")
        present = sorted(map(str, df[column].dropna().unique()))
        df = df[df[column] == value]
        if df.empty:
            raise ValueError(f"{path}: no rows with {column} == {value!r} (present: {present})")
    return df


def read_store(path: str) -> CounterfactualSet:
    cs = read_counterfactuals(path)
    if len(cs) == 0:
        raise ValueError(f"{path}: counterfactual file has no rows")
    return cs


def image_side(n_features: int, path: str) -> int:
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"{path}: {n_features} features are not a square image")
    return side


def mosaic(images: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
    """(rows·cols, side²) flattened row-major images → one 2-D array with NaN gutters (pixel k of an
    image is at row k // side, column k % side)."""
    side = image_side(images.shape[1], "mosaic")
    out = np.full((rows * (side + pad) - pad, cols * (side + pad) - pad), np.nan, dtype=np.float32)
    for i, img in enumerate(images.reshape(-1, side, side)):
        r, c = divmod(i, cols)
        out[
            r * (side + pad) : r * (side + pad) + side, c * (side + pad) : c * (side + pad) + side
        ] = img
    return out


def digit_cmap(name: str = "gray_r"):
    """Grey scale with white gutters: MNIST is scaled to [-1, 1] with background −1 (white)."""
    return plt.get_cmap(name).with_extremes(bad="white")


def save(fig, outputs: list[str]) -> None:
    """Save `fig` to every output path (format from the suffix, PNG at 150 dpi), atomically."""
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(
                tmp, format=Path(out).suffix.lstrip(".") or "png", dpi=150, bbox_inches="tight"
            )
    plt.close(fig)
