"""Where the PNG mask codec used to live: it moved to `domain.masks`, beside the
segmentation task kind that validates, votes and exports masks. Kept so that
the Ground Truth adapter's and callers' imports need not change."""

from __future__ import annotations

from labelwire.server.domain.masks import (
    MAX_PIXELS,
    PngError,
    class_mask,
    colour_mask,
    decode_rgba,
    encode_grey,
    encode_rgba,
    parse_hex_colour,
)

__all__ = [
    "MAX_PIXELS",
    "PngError",
    "class_mask",
    "colour_mask",
    "decode_rgba",
    "encode_grey",
    "encode_rgba",
    "parse_hex_colour",
]
