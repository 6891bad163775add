"""`cftrain.allocator`: glibc keeps freed tensor memory for reuse (performance only, issue 16).

Its effect — fewer page faults, a faster search — depends on the heap's layout and is measured by
`benchmarks/run.py` (search_speedup), not here; these tests pin what it sets and who calls it.
"""

import ctypes
import sys

import pytest

import cftrain.allocator as allocator


class _FakeLibc:
    def __init__(self, result=1):
        self.calls, self.result = [], result

        def mallopt(param, value):
            self.calls.append((param, value))
            return self.result

        self.mallopt = mallopt


def test_sets_glibc_mmap_and_trim_thresholds(monkeypatch):
    libc = _FakeLibc()
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: libc)
    assert allocator.retain_freed_memory() is True
    assert libc.calls == [(-3, 32 * 2**20), (-1, 2**30)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


def test_reports_false_where_it_cannot_act(monkeypatch):
    refused = _FakeLibc(result=0)  # glibc rejects a value
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: refused)
    assert allocator.retain_freed_memory() is False

    class _NoMallopt:  # a C library without mallopt (musl)
        pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: _NoMallopt())
    assert allocator.retain_freed_memory() is False
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: pytest.fail("not on macOS"))
    assert allocator.retain_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc: Linux only")
def test_real_glibc_accepts_both_values():
    assert ctypes.CDLL(None).mallopt  # this machine's C library is glibc
    assert allocator.retain_freed_memory() is True


def test_every_workflow_job_retains_freed_memory(monkeypatch, tmp_path):
    import cftrain.steps.common as common

    calls = []
    monkeypatch.setattr(common, "retain_freed_memory", lambda: calls.append(1) or True)
    with common.job_logging(tmp_path / "job.log"):
        pass
    assert calls == [1]
