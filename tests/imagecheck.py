"""What a rendered figure must contain beyond a file size: drawn pixels in several colours."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def assert_drawn(png: Path, pdf: Path | None = None, *, min_share: float = 0.05) -> None:
    """A PNG with more than `min_share` of its pixels off the background colour and more than 0.5%
    in colour (not grey), and a PDF with at least one page. Empty axes (frames, ticks and labels
    only, 2% of the pixels, all grey) and blank canvases fail; every cftrain figure draws its data
    in colour (palettes, colour maps, coloured titles of the MNIST grids)."""
    from matplotlib.image import imread

    data = png.read_bytes()
    assert data[:4] == b"\x89PNG", png
    pixels = np.round(imread(png)[..., :3] * 255).astype(np.int32)
    flat = pixels.reshape(-1, 3) @ np.array([1, 256, 65536])
    values, counts = np.unique(flat, return_counts=True)
    background = values[np.argmax(counts)]
    drawn = float((flat != background).mean())
    assert drawn > min_share, f"{png}: only {drawn:.1%} of the pixels are drawn"
    chroma = float(((pixels.max(-1) - pixels.min(-1)) > 40).mean())
    assert chroma > 0.005, f"{png}: only {chroma:.2%} of the pixels are in colour"
    if pdf is not None:
        text = pdf.read_bytes()
        assert text[:4] == b"%PDF", pdf
        assert re.search(rb"/Type\s*/Page\b", text), f"{pdf}: no page"
