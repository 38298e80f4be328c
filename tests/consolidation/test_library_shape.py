"""The library's promises about its own shape: one calling convention per kind,
and examples in the docstrings that are true."""

from __future__ import annotations

import doctest
import inspect

import pytest

from labelwire.server import consolidation
from labelwire.server.consolidation import dawid_skene, glad, majority
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
