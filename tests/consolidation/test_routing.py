"""Extra judgments go where they settle an item: `dynamic.route`."""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.dynamic import route

# Item 0 is contested (three judgments, 0.55), item 1 nearly settled (two, 0.8), item 2 fresh.
OPEN = np.array([True, True, True])
COUNTS = np.array([3, 2, 0])
CONFIDENCE = np.array([0.55, 0.8, 0.25])


def test_the_contested_item_goes_to_the_stronger_worker() -> None:
    assert route(OPEN, COUNTS, CONFIDENCE, worker_skill=0.9, skill_cut=0.75, min_judgments=2) == 0
    assert route(OPEN, COUNTS, CONFIDENCE, worker_skill=0.6, skill_cut=0.75, min_judgments=2) == 2


def test_a_weaker_worker_gets_nothing_rather_than_a_contested_item() -> None:
    no_fresh = np.array([True, True, False])
    assert route(no_fresh, COUNTS, CONFIDENCE, worker_skill=0.6, skill_cut=0.75, min_judgments=2) is None
    assert route(no_fresh, COUNTS, CONFIDENCE, worker_skill=0.8, skill_cut=0.75, min_judgments=2) == 0


def test_a_strong_worker_takes_fresh_items_when_nothing_is_contested() -> None:
    counts = np.array([1, 0, 1])
    assert route(OPEN, counts, CONFIDENCE, worker_skill=0.9, skill_cut=0.75, min_judgments=2) == 1


def test_without_routing_the_fewest_judgments_come_first() -> None:
    assert route(OPEN, COUNTS, CONFIDENCE, worker_skill=0.1, skill_cut=-1.0, min_judgments=2) == 2
    assert route(np.zeros(3, dtype=np.bool_), COUNTS, CONFIDENCE, 0.9, 0.5, 2) is None
