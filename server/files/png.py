"""Just enough PNG to turn Ground Truth's colour masks into labelwire class masks.

Ground Truth paints each class in its own colour; labelwire's segmentation
answer is a greyscale PNG whose pixel value is the class index. Converting
needs decoding and encoding PNG, and an image library is not worth a
dependency for one 8-bit, non-interlaced format.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class PngError(ValueError):
    pass


def decode_rgba(data: bytes) -> npt.NDArray[np.uint8]:
    """An (height, width, 4) RGBA array from an 8-bit, non-interlaced PNG."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG")
    pos = len(SIGNATURE)
    header: tuple[int, ...] | None = None
    palette = b""
    transparency = b""
    idat = bytearray()
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise PngError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or interlace != 0 or colour not in _CHANNELS:
        raise PngError(f"unsupported PNG (bit depth {depth}, colour type {colour}, interlace {interlace})")
    channels = _CHANNELS[colour]
    pixels = _unfilter(zlib.decompress(bytes(idat)), width, height, channels)
    if colour == 3:
        table = np.zeros((256, 4), dtype=np.uint8)
        table[:, 3] = 255
        rgb = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3)
        table[: len(rgb), :3] = rgb
        alpha = np.frombuffer(transparency, dtype=np.uint8)
        table[: len(alpha), 3] = alpha
        return table[pixels[:, :, 0]]
    out = np.empty((height, width, 4), dtype=np.uint8)
    if colour in (0, 4):
        out[:, :, :3] = pixels[:, :, :1]
        out[:, :, 3] = pixels[:, :, 1] if colour == 4 else 255
    else:
        out[:, :, :3] = pixels[:, :, :3]
        out[:, :, 3] = pixels[:, :, 3] if colour == 6 else 255
    return out


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> npt.NDArray[np.uint8]:
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise PngError("PNG image data is truncated")
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        row = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int64)
        if kind == 0:
            line = row
        elif kind == 1:
            line = np.cumsum(row.reshape(width, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:
            line = (row + previous) % 256
        elif kind in (3, 4):
            line = _sequential(row, previous, bpp, paeth=kind == 4)
        else:
            raise PngError(f"unknown PNG filter {kind} in row {y}")
        out[y] = line.astype(np.uint8)
        previous = line
    return out.reshape(height, width, bpp)


def _sequential(
    row: npt.NDArray[np.int64], up: npt.NDArray[np.int64], bpp: int, *, paeth: bool
) -> npt.NDArray[np.int64]:
    cur = [0] * len(row)
    above = up.tolist()
    values = row.tolist()
    for i, value in enumerate(values):
        left = cur[i - bpp] if i >= bpp else 0
        if paeth:
            upper_left = above[i - bpp] if i >= bpp else 0
            p = left + above[i] - upper_left
            pa, pb, pc = abs(p - left), abs(p - above[i]), abs(p - upper_left)
            predictor = left if pa <= pb and pa <= pc else above[i] if pb <= pc else upper_left
        else:
            predictor = (left + above[i]) // 2
        cur[i] = (value + predictor) % 256
    return np.asarray(cur, dtype=np.int64)


def encode_grey(values: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit greyscale PNG of a (height, width) array."""
    height, width = values.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)
    rows[:, 1:] = values
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + _chunk(b"IEND", b"")
    )


def encode_rgba(pixels: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGBA PNG of a (height, width, 4) array; the format Ground Truth's tools paint in."""
    height, width, _ = pixels.shape
    rows = np.zeros((height, width * 4 + 1), dtype=np.uint8)
    rows[:, 1:] = pixels.reshape(height, width * 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def class_mask(colour_png: bytes, values_by_colour: Mapping[str, int]) -> bytes:
    """Repaints a colour mask as class indexes; unknown and transparent pixels become 0 (background)."""
    rgba = decode_rgba(colour_png)
    packed = (rgba[:, :, 0].astype(np.uint32) << 16) | (rgba[:, :, 1].astype(np.uint32) << 8) | rgba[:, :, 2]
    out = np.zeros(packed.shape, dtype=np.uint8)
    for colour, value in values_by_colour.items():
        out[(packed == parse_hex_colour(colour)) & (rgba[:, :, 3] > 0)] = value
    return encode_grey(out)


def colour_mask(class_png: bytes, colours_by_value: Mapping[int, str]) -> bytes:
    """Paints a class-index mask in Ground Truth's colours (the reverse of `class_mask`)."""
    values = decode_rgba(class_png)[:, :, 0]
    out = np.zeros((*values.shape, 4), dtype=np.uint8)
    for value, colour in colours_by_value.items():
        rgb = parse_hex_colour(colour)
        out[values == value] = ((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, 255)
    return encode_rgba(out)


def parse_hex_colour(colour: str) -> int:
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        raise PngError(f"not a #rrggbb colour: {colour!r}")
    return int(text, 16)
