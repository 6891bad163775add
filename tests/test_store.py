"""The counterfactual HDF5 contract (foundation issue item 4) and its validation on read."""

import h5py
import numpy as np
import pytest

from cftrain.store import (
    CounterfactualSet,
    read_counterfactuals,
    read_ig_maps,
    read_surface,
    write_counterfactuals,
    write_ig_maps,
    write_surface,
)


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


def _edit(tmp_path, change):
    """A valid store file, then `change(h5py_file)` applied to it in place."""
    path = tmp_path / "cf.h5"
    write_counterfactuals(path, _set())
    with h5py.File(path, "r+") as f:
        change(f)
    return path


def _retype(name, dtype):
    def change(f):
        data = f[name][()]
        del f[name]
        f.create_dataset(name, data=data.astype(dtype))

    return change


def _drop_row(name):
    def change(f):
        data = f[name][()]
        del f[name]
        f.create_dataset(name, data=data[:-1])

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _retype("counterfactual", np.float64),
            "'counterfactual' is float64 2-D, expected float32 2-D",
        ),
        (_retype("target", np.int32), "'target' is int32 1-D, expected int64 1-D"),
        (lambda f: f.__delitem__("steps"), "dataset 'steps' missing"),
        (lambda f: f.attrs.__delitem__("dataset"), r"attributes \['dataset'\] missing"),
        (_drop_row("converged"), "different row counts"),
    ],
    ids=["dtype-float", "dtype-int", "missing-dataset", "missing-attribute", "row-count"],
)
def test_reader_failure_paths(tmp_path, change, message):
    path = _edit(tmp_path, change)
    with pytest.raises(ValueError, match=message):
        read_counterfactuals(path)


def test_reader_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="counterfactual file"):
        read_counterfactuals(tmp_path / "nope.h5")


def test_surface_and_ig_maps_round_trip(tmp_path):
    """The figure inputs' writers and readers live together and agree (float32, validated)."""
    gx, gy = np.meshgrid(np.linspace(0, 1, 4), np.linspace(-1, 0, 4))
    prob = np.stack([gx, 1 - gx], axis=-1)
    write_surface(tmp_path / "s.h5", gx, gy, prob)
    rx, ry, rp = read_surface(tmp_path / "s.h5")
    assert rx.dtype == ry.dtype == rp.dtype == np.float32
    np.testing.assert_array_equal(rp, prob.astype(np.float32))
    np.testing.assert_array_equal(ry, gy.astype(np.float32))
    maps = np.arange(6, dtype=np.float64).reshape(2, 3) / 5
    write_ig_maps(tmp_path / "ig.h5", maps, "mnist")
    np.testing.assert_array_equal(read_ig_maps(tmp_path / "ig.h5"), maps.astype(np.float32))
    with h5py.File(tmp_path / "ig.h5", "r") as f:
        assert f.attrs["dataset"] == "mnist"
    write_ig_maps(tmp_path / "flat.h5", maps.ravel(), "mnist")
    with pytest.raises(ValueError, match=r"flat\.h5: maps have shape \(6,\)"):
        read_ig_maps(tmp_path / "flat.h5")
