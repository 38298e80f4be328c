"""Consolidation: judgments in, labels with calibrated confidence out.

Pure numpy over integer-coded arrays, shared by the server, the offline tools and
the benchmarks. Every classification method takes a `Judgments` table and returns
a `ClassificationResult`, configured in its constructor and run with `fit`, in the
manner of crowd-kit, so anyone who knows one method knows them all.
"""

from labelwire.server.consolidation.base import ClassificationResult, Judgments
from labelwire.server.consolidation.majority import MajorityVote, WeightedMajorityVote

__all__ = ["ClassificationResult", "Judgments", "MajorityVote", "WeightedMajorityVote"]
