"""Times the non-classification consolidations on synthetic answers with a planted truth.

    .venv/bin/python bench/consolidation/other.py

Boxes and key points report how close the consolidated answer is to the planted one, spans
and masks how many consolidated units match it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labelwire.server.consolidation import (
    BoxConsolidation,
    BoxJudgments,
    PixelVote,
    RobustCentre,
    SpanJudgments,
    SpanVote,
)
from labelwire.server.consolidation.boxes import iou


def boxes(rng: np.random.Generator, n_items: int = 20_000, per_item: int = 5, objects: int = 3) -> str:
    """Each worker draws every object with 3 px of jitter; one worker in ten adds a spurious box."""
    truth = rng.uniform(0, 1000, (n_items, objects, 2))
    items = np.repeat(np.arange(n_items), per_item * objects)
    workers = np.repeat(np.arange(n_items * per_item) % 200, objects)
    centre = truth[items, np.tile(np.arange(objects), n_items * per_item)] + rng.normal(0, 3, (items.size, 2))
    spurious = rng.random(n_items * per_item) < 0.1
    extra_items = np.repeat(np.arange(n_items), per_item)[spurious]
    extra_centre = rng.uniform(0, 1000, (extra_items.size, 2))
    all_items = np.r_[items, extra_items]
    all_workers = np.r_[workers, (np.arange(n_items * per_item) % 200)[spurious]]
    all_centre = np.r_[centre, extra_centre]
    judgments = BoxJudgments.from_lists(all_items, all_workers, np.c_[all_centre - 20, all_centre + 20])
    start = time.perf_counter()
    result = BoxConsolidation().fit(judgments)
    seconds = time.perf_counter() - start
    planted = np.c_[truth.reshape(-1, 2) - 20, truth.reshape(-1, 2) + 20]
    sample = range(1000)
    best = [
        iou(planted[i * objects : (i + 1) * objects], result.boxes[result.items == i]).max(
            axis=1, initial=0.0
        )
        for i in sample
    ]
    return (
        f"| boxes | {len(judgments.items):,} boxes, {n_items:,} items | {seconds:.2f} | "
        f"{result.items.size:,} boxes kept for {n_items * objects:,} planted; planted boxes' mean IoU with the nearest kept box {np.mean(best):.3f} (first 1,000 items) |"
    )


def spans(rng: np.random.Generator, n_items: int = 50_000, tokens: int = 40, per_item: int = 3) -> str:
    """One planted entity per item; each worker shifts each boundary by one token with probability 0.2."""
    start_true = rng.integers(0, tokens - 6, n_items)
    end_true = start_true + rng.integers(1, 5, n_items)
    items = np.repeat(np.arange(n_items), per_item)
    shift = rng.choice([-1, 0, 1], size=(2, items.size), p=[0.1, 0.8, 0.1])
    starts = np.clip(start_true[items] + shift[0], 0, tokens - 2)
    ends = np.maximum(np.clip(end_true[items] + shift[1], 1, tokens), starts + 1)
    workers = np.arange(items.size) % 100
    judgments = SpanJudgments.from_lists(
        items, workers, starts, ends, np.zeros(items.size, dtype=np.int64),
        assigned=(items, workers), n_tokens=np.full(n_items, tokens), n_labels=1,
    )  # fmt: skip
    begin = time.perf_counter()
    result = SpanVote().fit(judgments)
    seconds = time.perf_counter() - begin
    exact = np.zeros(n_items, dtype=np.bool_)
    hit = (result.starts == start_true[result.items]) & (result.ends == end_true[result.items])
    exact[result.items[hit]] = True
    return (
        f"| spans | {items.size:,} spans over {n_items * tokens:,} tokens | {seconds:.2f} | "
        f"exact planted span recovered on {100 * exact.mean():.1f}% of items |"
    )


def masks(rng: np.random.Generator, side: int = 1000, per_item: int = 5, classes: int = 5) -> str:
    truth = np.repeat(np.repeat(rng.integers(0, classes, (side // 50, side // 50)), 50, axis=0), 50, axis=1)
    noisy = np.where(
        rng.random((per_item, side, side)) < 0.2, rng.integers(0, classes, (per_item, side, side)), truth
    )
    start = time.perf_counter()
    result = PixelVote(classes).fit(noisy)
    seconds = time.perf_counter() - start
    return (
        f"| segmentation | {per_item} masks of {side}x{side} | {seconds:.2f} | "
        f"{100 * np.mean(result.labels == truth):.2f}% of pixels right (each mask 84%) |"
    )


def key_points(rng: np.random.Generator, n_items: int = 200_000, per_item: int = 5) -> str:
    truth = rng.uniform(0, 1000, (n_items, 2))
    items = np.repeat(np.arange(n_items), per_item)
    points = truth[items] + rng.normal(0, 2, (items.size, 2))
    stray = rng.random(items.size) < 0.05
    points[stray] += rng.uniform(50, 100, (int(stray.sum()), 2))
    start = time.perf_counter()
    result = RobustCentre().fit(items, points)
    seconds = time.perf_counter() - start
    error = np.sqrt(((result.centre - truth) ** 2).sum(axis=1))
    caught = result.outliers[stray].mean()
    false_alarm = result.outliers[~stray].mean()
    return (
        f"| key points | {items.size:,} clicks, {n_items:,} items | {seconds:.2f} | "
        f"median error {np.median(error):.2f} px; {100 * caught:.1f}% of stray clicks flagged, "
        f"{100 * false_alarm:.1f}% of good ones |"
    )


def main() -> None:
    rng = np.random.default_rng(1)
    print("| answer type | size | seconds | quality |")
    print("|---|---|---:|---|")
    for run in (boxes, spans, masks, key_points):
        print(run(rng), flush=True)


if __name__ == "__main__":
    main()
