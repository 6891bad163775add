"""The counterfactual HDF5 contract (foundation issue item 4) and its validation on read."""

import h5py
import numpy as np
import pytest

from cftrain.store import CounterfactualSet, read_counterfactuals, write_counterfactuals


def _set(n=50, d=4):
    rng = np.random.default_rng(0)
    return CounterfactualSet(
        factual=rng.normal(size=(n, d)).astype(np.float32),
        counterfactual=rng.normal(size=(n, d)).astype(np.float32),
        target=rng.integers(0, 2, n), factual_label=rng.integers(0, 2, n),
        converged=rng.random(n) > 0.5, steps=rng.integers(0, 30, n).astype(np.int32),
        attrs={"generator": "ecco", "dataset": "moons", "objective": "full", "seed": 1, "lambda_energy": 0.5},
        extra={"run": np.zeros(n, dtype=np.int32)},
    )  # fmt: skip


def test_roundtrip_and_bytes(tmp_path):
    cs = _set()
    write_counterfactuals(tmp_path / "a.h5", cs)
    write_counterfactuals(tmp_path / "b.h5", cs)
    back = read_counterfactuals(tmp_path / "a.h5")
    np.testing.assert_array_equal(back.counterfactual, cs.counterfactual)
    assert (
        back.attrs["lambda_energy"] == 0.5 and back.attrs["format"] == "cftrain.counterfactuals/1"
    )
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    assert not list(tmp_path.glob(".*tmp"))


def test_truncated_and_foreign_files_are_rejected(tmp_path):
    path = tmp_path / "cf.h5"
    write_counterfactuals(path, _set())
    data = path.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.h5"):
        read_counterfactuals(tmp_path / "trunc.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f.attrs["format"] = "something/else"
    with pytest.raises(ValueError, match="format attribute is 'something/else'"):
        read_counterfactuals(tmp_path / "foreign.h5")


def test_shape_mismatch_is_rejected(tmp_path):
    cs = _set()
    cs.steps = cs.steps[:-1]
    with pytest.raises(ValueError, match="steps"):
        write_counterfactuals(tmp_path / "x.h5", cs)
    assert not (tmp_path / "x.h5").exists()
