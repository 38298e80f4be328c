"""Server throughput benchmark: how many judgments per second labelwire commits, and
how that compares with what gRPC in Python can do at all on the same machine.

The benchmark itself is the package beside this file, `bench/throughput/` (its
`__init__.py` says why it is built the way it is); this script is its command line.
Not part of the tests. Run `python bench/throughput.py --help`; `--quick` for a short run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput.cli import main

if __name__ == "__main__":
    sys.exit(main())
