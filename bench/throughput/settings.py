"""Where results go and what every part of the benchmark shares."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
CLASSES = ("positive", "negative", "neutral")
ECHO_METHOD = "/labelwire.bench.Echo/Echo"
ADJECTIVES = ("great", "cold", "fine", "awful", "lovely", "bland", "slow", "quick")
TICKS = os.sysconf("SC_CLK_TCK")
