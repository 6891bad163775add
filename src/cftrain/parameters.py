"""Parameters of registry entries that are dataclasses (generators, batch objectives).

The class's fields are its config parameters and their defaults (`parameters()`, `defaults()`);
a config mapping is resolved against them here, once for every registry (docs/extending.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


def coerce(field: dataclasses.Field, value):
    """YAML writes 5 for 5.0: a float parameter is stored as float (HDF5 attributes, run specs)."""
    if field.type in (float, "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def resolve_fields(kind: str, name: str, cls, params: Mapping) -> dict:
    """`cls.defaults()` updated by `params`; an unknown parameter is an error naming it, the
    entry (`kind` `name`) and the allowed ones."""
    allowed = cls.parameters()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"{kind} {name!r} has no parameter(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(allowed)})"
        )
    return {**cls.defaults(), **{k: coerce(allowed[k], v) for k, v in params.items()}}
