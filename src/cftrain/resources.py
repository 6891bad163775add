"""What each workflow job needs from a cluster (SLURM via Snakemake's executor plugin, method.md §9).

Snakemake resubmits a failed job (``retries:`` in the profile) with ``attempt`` = 2, 3, ...; rules
size themselves with :func:`grow`, so a job killed for OUT_OF_MEMORY or TIMEOUT comes back with twice
the memory and time. :func:`device_resources` asks for a GPU when the config says ``device: cuda``;
:func:`size_class` says which datasets' evaluation needs a large-memory node. Partition names are
the cluster's business: the profile maps these needs to partitions (profiles/delftblue: GPU jobs
through its partition table, size classes through `set-resources`). Outside SLURM these resources
only inform the local scheduler.
"""

from collections.abc import Callable

#: DelftBlue wall-time limits in minutes (CPU partitions 120 h, GPU partitions 48 h). A request above a
#: partition's limit is not rejected: the job stays PENDING forever, so requests are capped.
MAX_RUNTIME_MIN = 120 * 60
MAX_GPU_RUNTIME_MIN = 48 * 60

#: Datasets whose search/evaluation jobs need a large-memory node (size class `large`).
LARGE_DATASETS = frozenset({"mnist"})
SIZE_CLASSES = ("standard", "large")


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


def device_resources(device: str) -> dict[str, int]:
    """GPU count for a torch device; empty (profile defaults) on CPU."""
    if device.startswith("cuda"):
        return {"gpu": 1}
    return {}


def size_class(dataset: str) -> str:
    """`large` or `standard`: the node a dataset's search/evaluation jobs need. Jobs grouped into one
    cluster job must agree, so the profile groups them per dataset."""
    return "large" if dataset in LARGE_DATASETS else "standard"
