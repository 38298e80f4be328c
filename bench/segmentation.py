"""What labeling one segmentation item costs the server, per image size and PNG filter.

An item is labeled inside the write transaction of its last judgment, so the
time to decode its masks, vote per pixel and encode the label is time every
other write waits. This times `labeling.consolidate_item` on three workers'
masks (one 2-vs-1 region) and, as the baseline in the same run, the vote on
whole masks it replaced (`domain.tasks.base.vote_exact`). Masks are written two ways:
unfiltered rows (labelwire's own encoder) and Paeth-filtered rows (what
browsers and most image libraries write), which the PNG decoder undoes one
byte at a time.

    .venv/bin/python bench/segmentation.py
    .venv/bin/python bench/segmentation.py --sizes 512x512 1920x1080 --repeat 3
"""

from __future__ import annotations

import argparse
import base64
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from labelwire.server.domain.model import JobSpec, LabelClass
from labelwire.server.domain.tasks.base import vote_exact
from labelwire.server.files import png
from labelwire.server.labels import items as labeling


def paeth_png(values: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit greyscale PNG whose every row uses the Paeth filter."""
    height, width = values.shape
    raw = values.astype(np.int16)
    left = np.zeros_like(raw)
    left[:, 1:] = raw[:, :-1]
    up = np.zeros_like(raw)
    up[1:] = raw[:-1]
    upper_left = np.zeros_like(raw)
    upper_left[1:, 1:] = raw[:-1, :-1]
    p = left + up - upper_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upper_left)
    predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upper_left))
    rows = np.zeros((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 4
    rows[:, 1:] = ((raw - predictor) % 256).astype(np.uint8)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        png.SIGNATURE
        + png._chunk(b"IHDR", header)
        + png._chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + png._chunk(b"IEND", b"")
    )


def masks(width: int, height: int) -> list[npt.NDArray[np.uint8]]:
    base = np.zeros((height, width), dtype=np.uint8)
    base[height // 4 : height * 3 // 4, width // 4 : width * 3 // 4] = 1
    other = base.copy()
    other[height // 4 : height // 2, width // 4 : width * 3 // 4] = 2
    return [base, other, base.copy()]


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["256x256", "1024x768", "1920x1080"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = JobSpec(
        display_name="bench",
        task_type="segmentation",
        classes=(LabelClass("car"), LabelClass("road")),
        task_config={},
    )
    print(
        f"{'size':>10} {'rows':>6} {'per-pixel vote':>15} {'whole-mask vote':>16} {'ratio':>7} {'confidence':>10}"
    )
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        for name, encode in (("none", png.encode_grey), ("paeth", paeth_png)):
            judgments = [
                (w, {"segmentation": {"mask_png": base64.b64encode(encode(m)).decode()}})
                for w, m in enumerate(masks(width, height))
            ]
            label = labeling.consolidate_item(spec, judgments)
            assert label is not None
            voted = best_of(args.repeat, lambda j=judgments: labeling.consolidate_item(spec, j))
            exact = best_of(args.repeat, lambda j=judgments: vote_exact(j))
            print(
                f"{size:>10} {name:>6} {voted * 1000:>12.1f} ms {exact * 1000:>13.2f} ms"
                f" {voted / exact:>6.0f}x {label.confidence:>10.4f}"
            )
    print(f"(best of {args.repeat}; the machine is shared: compare rows of one run, not runs)")


if __name__ == "__main__":
    main()
