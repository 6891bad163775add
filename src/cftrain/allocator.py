"""Keep freed tensor memory in the process for reuse (glibc `mallopt`): performance only.

Every step of a batched search allocates a fresh input gradient of n × d floats (7.8 MB for
2,500 MNIST rows) and frees the previous state. glibc serves blocks that large with `mmap` and
gives them back to the kernel on `free` (or trims them off the heap top), so each step faults its
new block in again, page by page: 20–30 % of an MNIST-size search (`benchmarks/README.md`, issue
16). Raising the mmap threshold to glibc's maximum (32 MiB) and the trim threshold to 1 GiB keeps
such blocks in the heap, where the next allocation reuses them. Peak memory is what it was (the
same tensors are live at once); a process just does not shrink back below its peak.

Values are untouched: where memory comes from never changes a result. Called by every workflow
job (`steps.common.job_logging`) and by the benchmarks; a library user may call it too. A no-op
(returning False) outside glibc, e.g. on macOS or musl.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30


def retain_freed_memory() -> bool:
    """Set glibc's mmap threshold to 32 MiB and its trim threshold to 1 GiB for this process (and
    the processes it forks). True if both were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
