#!/usr/bin/env python3
"""Runs two builds of `compare` back to back, alternating, and says whether the second is worse.

    benches/scripts/before_after.py BEFORE AFTER [--pairs N] [--out DIR] [-- COMPARE_ARGS...]

BEFORE and AFTER are `compare` binaries (build each with `cargo build --release -p benches
--bin compare` at the two commits and copy them aside). The script runs BEFORE, AFTER,
BEFORE, AFTER, ... (N pairs, 4 by default; each invocation is a quick comparison of 3 rounds
unless COMPARE_ARGS say otherwise), so that drift on a noisy machine hits both alike, keeps
every JSON file in DIR, and prints one line per target:

* the value each invocation reported (itself a median of rounds), the median of each side;
* the noise: the spread (max - min) of BEFORE's own invocations, the run-to-run variation of
  one and the same build on this machine;
* the verdict: `worse` if AFTER's median is worse than BEFORE's median by more than that
  spread (in the target's bad direction), else `same` (or `better`).

It exits 1 if any target is `worse` or if AFTER misses a target BEFORE met in most runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(binary, out, extra):
    cmd = [binary, "--json", out] + extra
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return {(t["name"], t["placement"]): t for t in json.load(f)["targets"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--out", default=None, help="directory for the JSON files (default: a temp dir)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    a = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    out = a.out or tempfile.mkdtemp(prefix="before_after.")
    os.makedirs(out, exist_ok=True)

    runs = {"before": [], "after": []}
    for i in range(a.pairs):
        for side, binary in (("before", a.before), ("after", a.after)):
            path = os.path.join(out, f"{side}-{i + 1}.json")
            print(f"run {i + 1}/{a.pairs} {side} ...", file=sys.stderr, flush=True)
            runs[side].append(run(binary, path, extra))

    failed = False
    keys = sorted(set(runs["before"][0]) & set(runs["after"][0]))
    print(f"{a.pairs} pairs, alternating; JSON in {out}")
    for key in keys:
        b = [r[key]["value"] for r in runs["before"] if key in r]
        f = [r[key]["value"] for r in runs["after"] if key in r]
        op = runs["before"][0][key]["op"]
        bound = runs["before"][0][key]["bound"]
        bm, am = statistics.median(b), statistics.median(f)
        noise = max(b) - min(b)
        # For "<=" targets a larger value is worse; for ">=" a smaller one.
        delta = (am - bm) if op == "<=" else (bm - am)
        verdict = "worse" if delta > noise else ("better" if -delta > noise else "same")
        met_b = sum(r[key]["met"] for r in runs["before"] if key in r)
        met_a = sum(r[key]["met"] for r in runs["after"] if key in r)
        lost = met_a * 2 < len(f) and met_b * 2 >= len(b)
        if verdict == "worse" or lost:
            failed = True
        name, placement = key
        print(f"\n{name} [{placement}] {op} {bound:g}")
        print(f"  before: {' '.join(f'{v:.4g}' for v in b)}  median {bm:.4g}  met {met_b}/{len(b)}")
        print(f"  after:  {' '.join(f'{v:.4g}' for v in f)}  median {am:.4g}  met {met_a}/{len(f)}")
        print(f"  noise (spread of before): {noise:.4g}; after - before: {am - bm:+.4g} -> {verdict}"
              + ("; AFTER MISSES A TARGET BEFORE MET" if lost else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
