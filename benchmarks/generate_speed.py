"""How long the sample-data generator takes, and how much memory it needs.

    .venv/bin/python benchmarks/generate_speed.py --people 30000

Writes into benchmarks/out/generate-<people>/ (git-ignored) and prints one summary line per
run: people, rows written, files, wall and CPU seconds, peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from generator import generate_inbox

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mess", type=float, default=1.0)
    args = parser.parse_args()
    for people in args.people:
        wall, cpu = time.perf_counter(), time.process_time()
        summary = generate_inbox(
            OUT / f"generate-{people}", people=people, seed=args.seed, mess=args.mess
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        per_source = ", ".join(f"{k} {v}" for k, v in summary.rows.items())
        print(
            f"people={people} businesses={summary.businesses} rows={summary.total_rows} "
            f"files={sum(summary.files.values())} wall={wall:.1f}s cpu={cpu:.1f}s "
            f"peak_rss={peak_mb}MB ({per_source})"
        )


if __name__ == "__main__":
    main()
