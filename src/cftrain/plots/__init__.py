"""Figures drawn only from tables and HDF5 files (method.md §8), never from models.

`render(name, inputs, outputs)` draws figure `name` from the files `cftrain.workflow.figure_inputs`
lists (in that order) and saves it to every path in `outputs` (PNG and PDF).
"""

from __future__ import annotations

from importlib import import_module

from cftrain.workflow import FIGURES

# figure name → "module:function", from the figure registry (cftrain.workflow.FIGURES); every
# function has the signature (inputs, outputs).
RENDERERS = {name: spec["renderer"] for name, spec in FIGURES.items()}


def render(name: str, inputs: list[str], outputs: list[str]) -> None:
    if name not in RENDERERS:
        raise ValueError(f"no renderer for figure {name!r}: known {sorted(RENDERERS)}")
    module, func = RENDERERS[name].split(":")
    getattr(import_module(module), func)(inputs, outputs)
