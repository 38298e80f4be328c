import numpy as np
import pytest

from labelwire.server.consolidation import SpanJudgments, SpanVote

PER, LOC = 0, 1


def test_token_vote_puts_the_boundary_where_most_workers_put_it() -> None:
    # Ten tokens. Workers 0 and 2 mark PER [2, 4); worker 1 marks PER [2, 5); worker 2 alone marks LOC [7, 9).
    j = SpanJudgments.from_lists(
        [0, 0, 0, 0], [0, 1, 2, 2], [2, 2, 2, 7], [4, 5, 4, 9], [PER, PER, PER, LOC],
        assigned=([0, 0, 0], [0, 1, 2]), n_tokens=[10], n_labels=2,
    )  # fmt: skip

    result = SpanVote().fit(j)

    assert list(zip(result.starts, result.ends, result.labels, strict=True)) == [(2, 4, PER)]
    assert result.confidence == pytest.approx([1.0])
    assert result.token_confidence[4] == pytest.approx(2 / 3)


def test_adjacent_entities_of_one_class_stay_two_spans() -> None:
    j = SpanJudgments.from_lists(
        [0, 0, 0, 0], [0, 0, 1, 1], [0, 2, 0, 2], [2, 4, 2, 4], [PER] * 4,
        assigned=([0, 0], [0, 1]), n_tokens=[4], n_labels=2,
    )  # fmt: skip

    result = SpanVote().fit(j)

    assert list(zip(result.starts, result.ends, strict=True)) == [(0, 2), (2, 4)]


def test_spans_do_not_run_across_items_and_silent_workers_vote_outside() -> None:
    # Item 0 (3 tokens): both workers mark LOC [1, 3). Item 1 (2 tokens): one of three workers marks LOC [0, 2).
    j = SpanJudgments.from_lists(
        [0, 0, 1], [0, 1, 0], [1, 1, 0], [3, 3, 2], [LOC] * 3,
        assigned=([0, 0, 1, 1, 1], [0, 1, 0, 1, 2]), n_tokens=[3, 2], n_labels=2,
    )  # fmt: skip

    result = SpanVote().fit(j)

    assert list(zip(result.items, result.starts, result.ends, strict=True)) == [(0, 1, 3)]
    assert result.token_labels.tolist() == [-1, LOC, LOC, -1, -1]


def test_worker_skill_weights_the_token_vote() -> None:
    j = SpanJudgments.from_lists(
        [0], [0], [0], [2], [PER], assigned=([0, 0], [0, 1]), n_tokens=[2], n_labels=1
    )

    result = SpanVote().fit(j, worker_skill=np.array([0.9, 0.3]))

    assert result.confidence == pytest.approx([0.75])
