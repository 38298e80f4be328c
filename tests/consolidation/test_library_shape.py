"""The library's promises about its own shape: one calling convention per kind,
and examples in the docstrings that are true."""

from __future__ import annotations

import doctest
import inspect

import pytest

from labelwire.server import consolidation
from labelwire.server.consolidation import (
    boxes,
    dawid_skene,
    glad,
    majority,
    multilabel,
    numeric,
    segmentation,
    spans,
)
from labelwire.server.consolidation.base import Classifier

CLASSIFIERS = [
    consolidation.MajorityVote,
    consolidation.WeightedMajorityVote,
    consolidation.DawidSkene,
    consolidation.OneCoinDawidSkene,
    consolidation.GLAD,
]


@pytest.mark.parametrize("method", CLASSIFIERS, ids=lambda m: m.__name__)
def test_every_classifier_has_the_one_fit_signature(method: type[Classifier]) -> None:
    assert issubclass(method, Classifier)
    params = inspect.signature(method.fit).parameters
    assert list(params) == ["self", "judgments", "gold", "worker_skill"]
    assert params["gold"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["worker_skill"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("module", [majority, dawid_skene, glad], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: object) -> None:
    failures, tried = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0


KINDS = [
    (
        consolidation.MultiLabelClassifier,
        [consolidation.BinaryRelevance],
        ["self", "judgments", "gold", "worker_skill"],
    ),
    (
        consolidation.GeometryMethod,
        [consolidation.BoxConsolidation, consolidation.SpanVote, consolidation.PixelVote],
        ["self", "judgments", "worker_skill"],
    ),
    (consolidation.NumericMethod, [consolidation.RobustCentre], ["self", "items", "values", "n_items"]),
]


@pytest.mark.parametrize(
    ("base", "method", "names"),
    [(base, method, names) for base, methods, names in KINDS for method in methods],
    ids=lambda x: getattr(x, "__name__", "args"),
)
def test_every_method_of_a_kind_has_its_base_and_its_fit_signature(
    base: type, method: type, names: list[str]
) -> None:
    assert issubclass(method, base)
    base_params = inspect.signature(base.fit).parameters
    params = inspect.signature(method.fit).parameters
    assert list(params) == names == list(base_params)
    for name in ("gold", "worker_skill"):
        if name in params:
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
            assert params[name].default is None


@pytest.mark.parametrize(
    "module", [multilabel, boxes, spans, segmentation, numeric], ids=lambda m: m.__name__.rsplit(".", 1)[-1]
)
def test_every_kind_documents_an_example_that_holds(module: object) -> None:
    failures, tried = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0
