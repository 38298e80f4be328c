"""How far a majority-vote job's stated confidence can be trusted on its dynamic path (issue 13,
wanted 3: majority-vote jobs report a calibrated probability), as the server labels: one
judgment, more while the vote's confidence is under the target, judges quiz-gated (4 of 5),
skills from the quiz (shrunk towards every applicant's, mvcal13) and, once the colluder check
has run, from agreement with the consensus (mvbudget13). `mv_quiz.py` measures the vote alone
on fixed judgments; this measures the labels a client receives, whose confidences sit at and
above the job's target.

    nice -n 10 .venv/bin/python bench/consolidation/mv_calibration.py --seeds 4

ECE in points (10 equal-width bins) over every label of the seeds pooled, overall and in the
0.6-0.9 band, and the mean stated confidence minus accuracy (positive: overconfident).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.dollar_job import CROWDS
from bench.consolidation.dollar_mv import MV_MODES, simulate_mv
from bench.consolidation.mv_budget import job
from bench.consolidation.quality import ece
from labelwire.server.consolidation import JudgmentPolicy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=4, help="crowds per preset, from seed 5000")
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--targets", type=float, nargs="*", default=[0.8, 0.9, 0.95])
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=list(CROWDS))
    parser.add_argument("--modes", nargs="*", choices=MV_MODES, default=["prior_all", "agree_applicants"])
    parser.add_argument("--quiz-bar", type=int, default=4, help="quiz answers of 5 to judge (0: none)")
    args = parser.parse_args()
    print("| crowd | target | mode | labels | accuracy % | ECE | ECE in 0.6-0.9 (labels) | conf − acc |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for crowd in args.crowds:
        for target in args.targets:
            policy = JudgmentPolicy(1, 6, target)
            for mode in args.modes:
                stated: list[tuple[float, bool]] = []
                for seed in range(5000, 5000 + args.seeds):
                    simulate_mv(job(crowd, args.items, seed, args.quiz_bar), policy, mode, stated)
                conf = np.array([c for c, _ in stated])
                ok = np.array([r for _, r in stated], dtype=np.float64)
                band = int(((conf >= 0.6) & (conf < 0.9)).sum())
                print(
                    f"| {crowd} | {target} | {mode} | {conf.size} | {100 * ok.mean():.2f} | {ece(conf, ok):.2f} | "
                    f"{ece(conf, ok, 0.6, 0.9):.2f} ({band}) | {100 * (conf.mean() - ok.mean()):+.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
