"""Cold start of the Lambda handlers: the time to import `port_aws_exporter.handler` in a fresh process.

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 30] [--compare OTHER_SRC]

Each run is a new Python process that imports the handler module and nothing else (what Lambda does
before the first invocation). Prints the median, p10 and p90 wall time of the import, measured
inside the child with `time.perf_counter`, so the interpreter's own start is left out.

`--compare` names another checkout's `src` directory (e.g. a `git worktree` of main): the two are
measured alternately in the same run, which is what makes the ratio trustworthy on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

MODULE = "port_aws_exporter.handler"
PROBE = (
    "import time; started = time.perf_counter(); import importlib; "
    f"importlib.import_module({MODULE!r}); print(time.perf_counter() - started)"
)
OWN_SRC = Path(__file__).resolve().parents[1] / "src"


def import_seconds(src: Path) -> float:
    """One fresh process's import time of the handler from `src`."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    output = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    ).stdout
    return float(output.strip())


def summary(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10)
    median = statistics.median(samples)
    return f"median {1000 * median:7.1f} ms   p10 {1000 * deciles[0]:7.1f}   p90 {1000 * deciles[-1]:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--compare", type=Path, help="another checkout's src directory, measured alternately")
    args = parser.parse_args()
    sources = {"this checkout": OWN_SRC}
    if args.compare is not None:
        sources["compared"] = args.compare.resolve()
    for src in sources.values():
        import_seconds(src)  # compiles the bytecode and warms the page cache: every run then reads the same files
    samples: dict[str, list[float]] = {name: [] for name in sources}
    for _ in range(args.runs):
        for name, src in sources.items():
            samples[name].append(import_seconds(src))
    print(f"import {MODULE} in a fresh process, {args.runs} runs each")
    for name, values in samples.items():
        print(f"  {name:14} {summary(values)}   ({sources[name]})")
    if args.compare is not None:
        ratio = statistics.median(samples["this checkout"]) / statistics.median(samples["compared"])
        print(f"  ratio this/compared (medians): {ratio:.3f}")


if __name__ == "__main__":
    main()
