"""`make cluster`: build the rig, run the proofs (1 to 7, 1b, 1c), print figures and a summary.

python -m cluster [--soak SECONDS] [--apps N] [--results FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import proofs, proofs_logout
from .rig import Rig


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster")
    parser.add_argument("--soak", type=float, default=600, help="soak duration in seconds")
    parser.add_argument("--apps", type=int, default=3, help="app hosts (2 or 3)")
    parser.add_argument("--results", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    started = time.time()
    results = []
    with Rig(apps=args.apps) as rig:
        print(f"rig up in {time.time() - started:.1f} s: {args.apps} app hosts", flush=True)
        for run in [*proofs.ALL, *proofs_logout.ALL, lambda r: proofs.soak(r, args.soak)]:
            proof = run(rig)
            results.append(proof)
            print(proof.report(), flush=True)
    table = summary(results, time.time() - started)
    print(table)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        report = "\n".join(p.report() for p in results)
        args.results.write_text(f"{report}\n\n{table}\n")
    return 0 if all(p.passed for p in results) else 1


def summary(results: list[proofs.Proof], seconds: float) -> str:
    width = max(len(p.name) for p in results)
    rows = [f"{'proof'.ljust(width)}  result  requests  failed", "-" * (width + 26)]
    for p in results:
        verdict = "PASS" if p.passed else "FAIL"
        requests, failed = p.figures.get("requests", "-"), p.figures.get("failed", "-")
        rows.append(f"{p.name.ljust(width)}  {verdict:6}  {requests!s:>8}  {failed!s:>6}")
    rows.append(f"all done in {seconds:.0f} s")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
