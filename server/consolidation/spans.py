"""Spans (named entities): a vote per token, rebuilt into spans.

Whole-span voting fails on the commonest disagreement, a boundary off by one
token; a token-level vote lets the workers who agree on the core of an entity
carry it, and the boundary lands where most workers put it. The same code works
on characters instead of tokens: positions are just integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import FloatArray, IntArray, indexes, size_of
from labelwire.server.consolidation.geometry import GeometryMethod, MarkedJudgments, assignments


@dataclass(frozen=True)
class SpanJudgments(MarkedJudgments):
    """Spans [start, end) with an entity class each, and who annotated which item
    (a worker assigned an item who marked nothing voted "outside" on every token)."""

    starts: IntArray
    ends: IntArray
    n_tokens: IntArray
    n_labels: int

    @classmethod
    def from_lists(
        cls,
        items: npt.ArrayLike,
        workers: npt.ArrayLike,
        starts: npt.ArrayLike,
        ends: npt.ArrayLike,
        labels: npt.ArrayLike,
        *,
        assigned: tuple[npt.ArrayLike, npt.ArrayLike],
        n_tokens: npt.ArrayLike,
        n_labels: int,
        n_workers: int | None = None,
    ) -> SpanJudgments:
        it, wk, st, en, lb = (indexes(a) for a in (items, workers, starts, ends, labels))
        a_items, a_workers = assignments(assigned)
        tokens = indexes(n_tokens)
        if not (it.size == wk.size == st.size == en.size == lb.size):
            raise ValueError("items, workers, starts, ends and labels must have one entry per span")
        if it.size and (np.any(st < 0) or np.any(en <= st) or np.any(en > tokens[it])):
            raise ValueError("each span must satisfy 0 <= start < end <= n_tokens of its item")
        if lb.size and (lb.min() < 0 or lb.max() >= n_labels):
            raise ValueError(f"labels must be entity classes in [0, {n_labels})")
        return cls(
            items=it,
            workers=wk,
            starts=st,
            ends=en,
            labels=lb,
            assigned_items=a_items,
            assigned_workers=a_workers,
            n_tokens=tokens,
            n_labels=n_labels,
            n_workers=size_of(n_workers, wk, a_workers),
        )


@dataclass
class SpanResult:
    """Consolidated spans, plus the token-level vote they were built from.

    `confidence` of a span is the mean, over its tokens, of the (skill-weighted)
    share of workers who gave the token that label: 1.0 when everyone marked
    exactly this span. Token arrays are concatenated over items; item i's tokens
    start at `token_offsets[i]`, and `token_labels` is -1 outside any entity.
    """

    items: IntArray
    starts: IntArray
    ends: IntArray
    labels: IntArray
    confidence: FloatArray
    token_labels: IntArray
    token_confidence: FloatArray
    token_offsets: IntArray


class SpanVote(GeometryMethod[SpanJudgments, SpanResult]):
    """Token-level vote, optionally weighted by worker skill, rebuilt into spans.

    Model: every token gets the entity class (or none) most of the item's workers gave
    it, and runs of one class become spans, split where most workers began a new one:
    the token-level majority vote used as the baseline for sequence labelling by several
    annotators, Rodrigues, Pereira & Ribeiro (2014), "Sequence labeling with multiple
    annotators", Machine Learning 95(2).

    Example (two workers marked tokens 1-2 of a four-token item as class 0, one marked only token 1):

    >>> from labelwire.server.consolidation import SpanJudgments, SpanVote
    >>> j = SpanJudgments.from_lists(
    ...     [0, 0, 0], [0, 1, 2], [1, 1, 1], [3, 3, 2], [0, 0, 0],
    ...     assigned=([0, 0, 0], [0, 1, 2]), n_tokens=[4], n_labels=1,
    ... )
    >>> result = SpanVote().fit(j)
    >>> result.starts.tolist(), result.ends.tolist(), result.confidence.round(2).tolist()
    ([1], [3], [0.83])
    """

    def fit(self, judgments: SpanJudgments, *, worker_skill: FloatArray | None = None) -> SpanResult:
        weight, _, voters = judgments.voters(worker_skill, judgments.n_tokens.size)
        offsets = np.concatenate([[0], np.cumsum(judgments.n_tokens)]).astype(np.int64)
        token_item = np.repeat(np.arange(judgments.n_tokens.size), judgments.n_tokens)

        entity, begins, total = _token_votes(judgments, weight, voters, offsets, token_item)
        votes = np.concatenate([(total - entity.sum(axis=1))[:, None], entity], axis=1)
        winner = np.argmax(votes, axis=1)
        top = votes[np.arange(winner.size), winner]
        share = np.where(total > 0, top / np.where(total > 0, total, 1.0), 0.0)
        token_labels = winner - 1

        first, end = _rebuild_spans(token_labels, entity, begins, offsets)
        span_items = token_item[first]
        cumulative = np.concatenate([[0.0], np.cumsum(share)])
        return SpanResult(
            items=span_items,
            starts=first - offsets[span_items],
            ends=end - offsets[span_items],
            labels=token_labels[first],
            confidence=(cumulative[end] - cumulative[first]) / np.maximum(end - first, 1),
            token_labels=token_labels,
            token_confidence=share,
            token_offsets=offsets[:-1],
        )


def _token_votes(
    judgments: SpanJudgments, weight: FloatArray, voters: FloatArray, offsets: IntArray, token_item: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted votes per (token, label), span starts per (token, label), and voters
    per token (from `voters`, the weight of the workers shown each item).

    Tokens of all items are laid end to end, so each span adds its weight at its first
    token and removes it after its last: one cumulative sum then gives every token's
    votes without a loop over spans.
    """
    k, n_total = judgments.n_labels, int(offsets[-1])
    w = weight[judgments.workers]
    first = (offsets[judgments.items] + judgments.starts) * k + judgments.labels
    after = (offsets[judgments.items] + judgments.ends) * k + judgments.labels
    size = (n_total + 1) * k
    change = np.bincount(first, weights=w, minlength=size) - np.bincount(after, weights=w, minlength=size)
    entity = np.cumsum(change.reshape(n_total + 1, k)[:n_total], axis=0)
    begins = np.bincount(first, weights=w, minlength=size).reshape(n_total + 1, k)[:n_total]
    total = np.maximum(voters[token_item], entity.sum(axis=1))
    return entity.astype(np.float64), begins.astype(np.float64), total.astype(np.float64)


def _rebuild_spans(
    token_labels: IntArray, entity: FloatArray, begins: FloatArray, offsets: IntArray
) -> tuple[IntArray, IntArray]:
    """First token and one-past-last token of each span in the concatenated token axis.

    A span starts at a labelled token whose label differs from the previous token's, at
    an item's first token, or where more than half of the token's voters for that label
    started a span there (two adjacent entities of one class).
    """
    n_total = token_labels.size
    position = np.arange(n_total)
    label = np.maximum(token_labels, 0)
    inside = token_labels >= 0
    item_start = np.zeros(n_total, dtype=np.bool_)
    item_start[offsets[:-1][offsets[:-1] < offsets[1:]]] = True
    continues = np.r_[False, token_labels[1:] == token_labels[:-1]] & ~item_start
    fresh = begins[position, label] > entity[position, label] / 2
    first = np.flatnonzero(inside & (~continues | fresh))

    boundary = np.zeros(n_total + 1, dtype=np.bool_)
    boundary[first] = True
    boundary[np.flatnonzero(~inside)] = True
    boundary[offsets[1:]] = True
    stops = np.flatnonzero(boundary)
    return first, stops[np.searchsorted(stops, first, side="right")]
