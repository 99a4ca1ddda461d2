"""Before and after on a machine whose speed drifts: run perf_bench alternately on an earlier commit and on
this checkout, several rounds, and print each figure's best and median for both.

    .venv/bin/python bench/compare.py BASE_COMMIT [--rounds 3] [--parts http] [-- perf_bench flags...]

On a shared machine the CPU a request costs changes from minute to minute (seen here: 15 to 31 ms for the
same code), so one run of each version compares the minutes more than the code. Alternating runs meet the
same conditions in turn. The earlier commit is checked out into a temporary git worktree that uses this
checkout's virtualenv and this checkout's bench/perf_bench.py, so both are measured by the same harness.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _figures(report: dict) -> dict[str, float]:
    """The comparable numbers of one perf_bench report, flattened to 'part.level.key' names."""
    out: dict[str, float] = {}
    for db, parts in report["results"].items():
        for level, row in parts.get("http", {}).get("levels", {}).items():
            for key in ("completions_per_second", "complete_p50_ms", "complete_p95_ms", "cycle_p95_ms"):
                out[f"{db}.http.{level}.{key}"] = row[key]
            for key, value in row.get("cpu_ms_per_completion", {}).items():
                out[f"{db}.http.{level}.cpu_ms.{key}"] = value
        for tab, row in parts.get("queues", {}).get("tabs", {}).items():
            out[f"{db}.queues.{tab}.p95_ms"] = row["p95_ms"]
        if "queues" in parts:
            out[f"{db}.queues.counts_p95_ms"] = parts["queues"]["counts_p95_ms"]
        for point, row in parts.get("history", {}).get("points", {}).items():
            out[f"{db}.history.{point}.median_ms"] = row["median_ms"]
        for key in ("verify_events_per_second", "replay_seconds"):
            if key in parts.get("audit", {}):
                out[f"{db}.audit.{key}"] = parts["audit"][key]
    return out


def _best(name: str, values: list[float]) -> float:
    higher_is_better = name.endswith(("per_second",))
    return max(values) if higher_is_better else min(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="perf_bench flags for both sides go after --")
    parser.add_argument("base", help="the earlier commit (anything `git worktree add` accepts)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default="http")
    parser.add_argument("--json-out", type=Path)
    argv = sys.argv[1:] if argv is None else argv
    own, bench_args = (argv[: argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = parser.parse_args(own)
    args.bench_args = bench_args

    workdir = Path(tempfile.mkdtemp(prefix="tejun-compare-"))
    base = workdir / "base"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(base), args.base], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        os.symlink(ROOT / ".venv", base / ".venv")
        shutil.copy(ROOT / "bench" / "perf_bench.py", base / "bench" / "perf_bench.py")
        # built files git does not hold (front-end vendor files, compiled message catalogs)
        vendor = ROOT / "service" / "web" / "static" / "vendor"
        if vendor.is_dir():
            shutil.copytree(vendor, base / "service" / "web" / "static" / "vendor", dirs_exist_ok=True)
        for catalog in (ROOT / "service" / "translations").glob("*/LC_MESSAGES/*.mo"):
            target = base / catalog.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(catalog, target)
        runs: dict[str, list[dict]] = {"base": [], "this": []}
        for n in range(args.rounds):
            for side, tree in (("base", base), ("this", ROOT)):
                out = workdir / f"{side}-{n}.json"
                command = [sys.executable, str(tree / "bench" / "perf_bench.py"), "--parts", args.parts,
                           "--json-out", str(out), *args.bench_args]
                print(f"round {n + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL)
                runs[side].append(_figures(json.loads(out.read_text())))
        names = sorted(set().union(*(r.keys() for side in runs.values() for r in side)))
        summary = {
            name: {
                side: {"best": _best(name, values), "median": statistics.median(values), "runs": values}
                for side in runs
                if (values := [r[name] for r in runs[side] if name in r])
            }
            for name in names
        }
        report = {"base": args.base, "rounds": args.rounds, "parts": args.parts, "figures": summary}
        print(json.dumps(report, ensure_ascii=False))
        if args.json_out:
            args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
        print(f"{'figure':52} {'base best/median':>20} {'this best/median':>20}")
        for name, sides in summary.items():
            cells = [f"{sides[s]['best']:g} / {sides[s]['median']:g}" if s in sides else "-" for s in ("base", "this")]
            print(f"{name:52} {cells[0]:>20} {cells[1]:>20}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
