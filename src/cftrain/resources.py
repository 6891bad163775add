"""What each workflow job asks a cluster for (SLURM via Snakemake's executor plugin, method.md §9).

Snakemake resubmits a failed job (``retries:`` in the profile) with ``attempt`` = 2, 3, ...; rules
size themselves with :func:`grow`, so a job killed for OUT_OF_MEMORY or TIMEOUT comes back with twice
the memory and time. :func:`device_resources` moves training to a GPU partition when the config says
``device: cuda``; :func:`partition_for` sends large datasets' evaluation to the fat-memory nodes.
Outside SLURM these resources only inform the local scheduler.
"""

from collections.abc import Callable

#: DelftBlue wall-time limits in minutes (compute/memory 120 h, GPU 48 h). A request above a
#: partition's limit is not rejected: the job stays PENDING forever, so requests are capped.
MAX_RUNTIME_MIN = 120 * 60
MAX_GPU_RUNTIME_MIN = 48 * 60

#: Datasets whose evaluation jobs go to the `memory` partition (768 GB / 1.5 TB nodes).
MEMORY_DATASETS = frozenset({"mnist"})


def scaled(base: int, attempt: int, *, factor: float = 2.0, cap: int | None = None) -> int:
    """``base`` on the first attempt, times ``factor`` per retry, at most ``cap``."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    value = round(base * factor ** (attempt - 1))
    return value if cap is None else min(value, cap)


def grow(base: int, *, factor: float = 2.0, cap: int | None = None) -> Callable[..., int]:
    """A ``resources:`` value growing with the retry: ``mem_mb=grow(4000)`` -> 4000, 8000, ..."""

    # Snakemake passes arguments by parameter name, so it must be called `attempt`.
    def resource(wildcards, attempt: int) -> int:
        return scaled(base, attempt, factor=factor, cap=cap)

    return resource


def device_resources(device: str) -> dict[str, str | int]:
    """Partition and GPU count for a torch device; empty (profile defaults) on CPU."""
    if device.startswith("cuda"):
        return {"slurm_partition": "gpu-a100", "gpu": 1}
    return {}


def partition_for(dataset: str) -> str:
    """The partition of a dataset's search/evaluation jobs. Rules grouped together must agree."""
    return "memory" if dataset in MEMORY_DATASETS else "compute"
