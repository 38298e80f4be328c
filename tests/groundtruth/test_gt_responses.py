"""Worker answers read from Ground Truth's worker-response format into labelwire answers."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import numpy as np
import pytest

from labelwire.adapters.groundtruth.responses import (
    AnswerShape,
    answer_from_content,
    dataset_object_id,
    worker_judgments,
)
from labelwire.server.files import png

CLASSES = ("cat", "dog")


@pytest.mark.parametrize(
    ("task_type", "content", "answer"),
    [
        (
            "classification",
            {"crowd-image-classifier": {"label": "cat"}},
            {"classification": {"class_name": "cat"}},
        ),
        ("classification", {"crowd-classifier": {"label": "dog"}}, {"classification": {"class_name": "dog"}}),
        (
            "multi_label",
            {"crowd-image-classifier-multi-select": {"labels": ["cat", "dog", "cat"]}},
            {"multi_label": {"class_names": ["cat", "dog"]}},
        ),
        (
            "bounding_box",
            {
                "boundingBox": {
                    "boundingBoxes": [{"height": 4, "label": "car", "left": 1, "top": 2, "width": 3}],
                    "inputImageProperties": {"height": 400, "width": 500},
                }
            },
            {
                "bounding_boxes": {
                    "boxes": [{"class_name": "car", "left": 1.0, "top": 2.0, "width": 3.0, "height": 4.0}]
                }
            },
        ),
        (
            "spans",
            {
                "crowd-entity-annotation": {
                    "entities": [{"endOffset": 80, "label": "Misc", "startOffset": 73}]
                }
            },
            {"spans": {"spans": [{"entity_type": "Misc", "start": 73, "end": 80}]}},
        ),
        (
            "verification",
            {"crowd-classifier": {"label": "incorrect"}},
            {"verification": {"correct": [False]}},
        ),
        ("verification", {"crowd-classifier": {"label": "Correct"}}, {"verification": {"correct": [True]}}),
        ("custom", {"sentiment": {"label": "angry"}}, {"custom": {"sentiment": {"label": "angry"}}}),
        (
            "classification",
            {"labelwire": '{"classification": {"class_name": "cat"}}', "note": {"label": "dog"}},
            {"classification": {"class_name": "cat"}},
        ),
        ("classification", {"comment": "no idea"}, None),
        ("classification", {"labelwire": {"multi_label": {"class_names": ["cat"]}}}, None),
    ],
)
def test_each_task_types_answer_is_found_in_the_submitted_form(
    task_type: str, content: dict[str, Any], answer: dict[str, Any] | None
) -> None:
    assert answer_from_content(content, AnswerShape(task_type, CLASSES)) == answer


def test_a_segmentation_answer_becomes_a_mask_of_class_indexes() -> None:
    painted = np.zeros((2, 3, 4), dtype=np.uint8)
    painted[0, 0] = (0x2C, 0xA0, 0x2C, 255)
    painted[1, 2] = (0xFF, 0x7F, 0x0E, 255)
    content = {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"height": 2, "width": 3},
            "labelMappings": {"dog": {"color": "#2ca02c"}, "cat": {"color": "#ff7f0e"}},
            "labeledImage": {"pngImageData": base64.b64encode(png.encode_rgba(painted)).decode()},
        }
    }
    answer = answer_from_content(content, AnswerShape("segmentation", CLASSES))

    assert answer is not None
    mask = png.decode_rgba(base64.b64decode(answer["segmentation"]["mask_png"]))[:, :, 0]
    assert mask.tolist() == [[2, 0, 0], [0, 0, 1]]


def _filtered_png(pixels: np.ndarray, filters: list[int]) -> bytes:
    """An RGB PNG whose rows use the given filter types, built the way the PNG spec defines them."""
    height, width, bpp = pixels.shape
    raw = bytearray()
    previous = [0] * (width * bpp)
    for y in range(height):
        row = [int(v) for v in pixels[y].reshape(-1)]
        kind = filters[y]
        out = []
        for i, value in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up = previous[i]
            upper_left = previous[i - bpp] if i >= bpp else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = left
            elif kind == 2:
                predictor = up
            elif kind == 3:
                predictor = (left + up) // 2
            else:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            out.append((value - predictor) % 256)
        raw.append(kind)
        raw.extend(out)
        previous = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def test_png_rows_with_every_filter_type_decode_to_the_painted_pixels() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    decoded = png.decode_rgba(_filtered_png(pixels, [0, 1, 2, 3, 4]))
    assert np.array_equal(decoded[:, :, :3], pixels)
    assert (decoded[:, :, 3] == 255).all()


def test_worker_response_files_give_one_judgment_per_worker() -> None:
    document = {
        "answers": [
            {
                "workerId": "private.us-east-1.a",
                "answerContent": {"crowd-classifier": {"label": "cat"}},
                "timeSpentInSeconds": 3.2,
            },
            {"workerId": "private.us-east-1.b", "answerContent": {"comment": "skipped"}},
            {"answerContent": {"crowd-classifier": {"label": "dog"}}},
        ]
    }
    judgments = worker_judgments(document, "item-7", AnswerShape("classification", CLASSES))

    assert [(j.item_key, j.worker_id, j.answer) for j in judgments] == [
        ("item-7", "private.us-east-1.a", {"classification": {"class_name": "cat"}}),
        ("item-7", "private.us-east-1.b", None),
    ]
    assert judgments[0].time_spent_seconds == 3.2


@pytest.mark.parametrize(
    ("uri", "object_id"),
    [
        ("s3://b/out/job/annotations/worker-response/iteration-1/12/2026-11-25_12:00:00.json", "12"),
        ("s3://b/out/job/annotations/worker-response/iteration-2/0/2026-11-25_12_00_00.json", "0"),
        ("s3://b/out/job/annotations/consolidated-annotation/consolidation-request/iteration-1/x.json", None),
    ],
)
def test_the_data_object_id_is_read_from_the_worker_response_path(uri: str, object_id: str | None) -> None:
    assert dataset_object_id(uri) == object_id
