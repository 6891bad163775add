"""Counterfactual generators of method.md §3, one per module, all on `cftrain.search`.

`GENERATORS` maps a config name to its class. A module of this package that defines a generator
registers it with `@register`; the package imports every one of its modules, so a new generator is
one new file (docs/extending.md). Everything that lists generator names (the config schema, the
objective wildcard, plot labels) reads this registry.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping

from cftrain.generators.base import Generator
from cftrain.parameters import resolve_fields

GENERATORS: dict[str, type[Generator]] = {}


def register(cls: type[Generator]) -> type[Generator]:
    """Class decorator: add a generator (a dataclass subclass of `Generator`) to `GENERATORS`."""
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise TypeError(f"{cls!r} is not a Generator subclass")
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"generator {cls.__name__} must be a dataclass (its fields are its params)")
    if cls.name in GENERATORS and GENERATORS[cls.name] is not cls:
        raise ValueError(f"generator name {cls.name!r} is already registered")
    GENERATORS[cls.name] = cls
    return cls


def generator_class(name: str) -> type[Generator]:
    try:
        return GENERATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown generator {name!r}: use one of {', '.join(GENERATORS)}"
        ) from None


def split_spec(spec: str | Mapping) -> tuple[str, dict]:
    """`"ecco"` or `{"name": "ecco", **params}` → ("ecco", params)."""
    if isinstance(spec, str):
        return spec, {}
    params = dict(spec)
    if "name" not in params:
        raise ValueError(f"generator spec {dict(spec)!r} has no 'name'")
    return str(params.pop("name")), params


def resolve_params(spec: str | Mapping, **overrides) -> tuple[str, dict]:
    """(name, every config parameter): the class defaults updated by the spec and `overrides`.

    An unknown parameter name is an error naming it and the allowed ones.
    """
    name, params = split_spec(spec)
    cls = generator_class(name)
    params.update(overrides)
    return name, resolve_fields("generator", name, cls, params)


def build_generator(spec: str | Mapping, vae=None, **overrides) -> Generator:
    """Build a generator from its config name or spec `{name, **params}`; missing parameters take
    the class defaults. A generator with `needs_vae` needs the trained `vae`."""
    name, params = resolve_params(spec, **overrides)
    cls = GENERATORS[name]
    if cls.needs_vae:
        if vae is None:
            raise ValueError(f"generator {name!r} needs a trained VAE (results/vae/<dataset>.pt)")
        return cls(vae=vae, **params)
    return cls(**params)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from cftrain.generators.ecco import ECCo, energy_schedule  # noqa: E402
from cftrain.generators.generic import Generic  # noqa: E402
from cftrain.generators.revise import REVISE  # noqa: E402

__all__ = [
    "ECCo",
    "GENERATORS",
    "Generator",
    "Generic",
    "REVISE",
    "build_generator",
    "energy_schedule",
    "generator_class",
    "register",
    "resolve_params",
]
