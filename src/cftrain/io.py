"""Atomic file writes: write to a temporary file in the target folder, then rename.

A crash never leaves a half-written file under its final name (reliability, method.md §9 notes).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, else remove it."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give results the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_torch_atomic(obj, path: str | os.PathLike) -> None:
    """`torch.save` atomically and byte-reproducibly: saving to a path names the zip archive's
    root folder after the file (here a random temporary name); a buffer's archive is 'archive'."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def read_hdf5(path: str | os.PathLike, what: str, reader, errors: tuple = ()):
    """Open `path` read-only and return `reader(path, h5py_file)`; a missing, truncated or damaged
    file raises an error naming the file and `what` it should have been."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file, perhaps truncated ({err})") from err
    try:
        with f:
            return reader(path, f)
    except (OSError, KeyError, TypeError, *errors) as err:  # damage can surface on any read
        raise ValueError(f"{path}: damaged {what} file ({err})") from err


def check_format(path, f, expected: str) -> None:
    """Raise a ValueError naming `path` unless the open HDF5 file `f` has format attribute `expected`."""
    fmt = f.attrs.get("format")
    if fmt != expected:
        raise ValueError(f"{path}: format attribute is {fmt!r}, expected {expected!r}")
