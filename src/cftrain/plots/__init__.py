"""Figures drawn only from tables and HDF5 files (method.md §8), never from models.

`render(name, inputs, outputs)` draws figure `name` from the files `cftrain.workflow.figure_inputs`
lists (in that order) and saves it to every path in `outputs` (PNG and PDF).
"""

from __future__ import annotations

from importlib import import_module

# figure name → "module:function"; every function has the signature (inputs, outputs).
RENDERERS = {
    "poc": "cftrain.plots.poc:poc",
    "mnist_ce": "cftrain.plots.mnist:mnist_ce",
    "mnist_ig": "cftrain.plots.mnist:mnist_ig",
    "robustness": "cftrain.plots.performance:robustness",
    "ablation": "cftrain.plots.performance:ablation",
    "mnist_grid_vanilla": "cftrain.plots.mnist:mnist_grid_vanilla",
    "mnist_grid_ct": "cftrain.plots.mnist:mnist_grid_ct",
    "moons_ce_examples": "cftrain.plots.moons:moons_ce_examples",
    "moons_plausibility": "cftrain.plots.generators:moons_plausibility",
    "moons_val_accuracy": "cftrain.plots.generators:moons_val_accuracy",
    "mnist_grids_generators": "cftrain.plots.generators:mnist_grids_generators",
}


def render(name: str, inputs: list[str], outputs: list[str]) -> None:
    if name not in RENDERERS:
        raise ValueError(f"no renderer for figure {name!r}: known {sorted(RENDERERS)}")
    module, func = RENDERERS[name].split(":")
    getattr(import_module(module), func)(inputs, outputs)
