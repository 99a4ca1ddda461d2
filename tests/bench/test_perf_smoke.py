"""The performance benchmark (bench/perf_bench.py, `make bench`) runs end to end in its small mode and reports
every figure. Timings are not asserted (the machine is shared); what is: each part ran, produced its numbers,
and the work it did was right (completions happened without errors, the audit log verified, the replay
matched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The subject is the benchmark tool (each part runs and reports, the comparison alternates checkouts), not the
# database under it: one pass of `make test` runs it, on PostgreSQL, the database `make bench` measures.
pytestmark = [pytest.mark.one_pass, pytest.mark.slow]


def test_quick_bench_reports_every_figure():
    url = os.environ.get("TEJUN_TEST_DATABASE_URL") or "sqlite"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "perf_bench.py"), "--quick", "--database-url", url],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.splitlines()[0])
    assert report["quick"] is True
    assert report["database"] == ("sqlite" if url == "sqlite" else "postgresql")

    # every headline figure has a value and a verdict against its target
    for name, value in report["figures"].items():
        assert isinstance(value, int | float), name
        assert report["targets_met"][name] in (True, False), name
    assert set(report["figures"]) == set(report["targets_met"])

    parts = report["results"][report["database"]]
    for level, row in parts["http"]["levels"].items():
        assert row["completions"] > 0, level
        for key in ("completions_per_second", "complete_p50_ms", "complete_p95_ms", "cycle_p95_ms", "load_after"):
            assert key in row, (level, key)
        # the web workers did the work, and the split accounts for the machine's busy time
        cpu = row["cpu_ms_per_completion"]
        assert cpu["web_workers"] > 0 and cpu["machine"] >= cpu["web_workers"], (level, cpu)
        if report["database"] == "postgresql":
            assert cpu["postgresql"] > 0, (level, cpu)
    assert [int(n) for n in parts["http"]["levels"]] == [1, 2, 4]
    assert parts["http"]["levels"]["1"]["errors"] == 0  # one client alone never conflicts
    assert parts["memory"]["web_worker_peak_rss_mb"] and parts["memory"]["timer_worker_alive"]

    queues = parts["queues"]
    assert set(queues["tabs"]) == {"mine", "team", "org", "overdue"}
    assert queues["cases"] == 2000 and queues["work_items"] >= 20_000 and queues["events"] == 20_000
    # the generated organizations give every measured person something in their tabs
    for person in queues["per_actor"].values():
        assert person["org"]["total"] > 0 and person["team"]["total"] > 0

    history = parts["history"]
    assert list(history["points"]) == ["2", "5", "10"] and history["ratio"] > 0

    audit = parts["audit"]
    assert audit["verify_ok"] is True and audit["replay_identical"] is True
    assert audit["verify_events_per_second"] > 0 and audit["replay_case_events"] > 0


def test_compare_runs_an_earlier_commit_and_this_checkout_alternately():
    url = os.environ.get("TEJUN_TEST_DATABASE_URL") or "sqlite"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "HEAD", "--rounds", "2", "--parts", "queues",
         "--", "--quick", "--database-url", url],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.splitlines()[0])
    db = "sqlite" if url == "sqlite" else "postgresql"
    overdue = report["figures"][f"{db}.queues.overdue.p95_ms"]
    for side in ("base", "this"):
        assert len(overdue[side]["runs"]) == 2
        assert overdue[side]["best"] == min(overdue[side]["runs"])  # lower is better for a latency
    # the temporary worktree is gone again
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "tejun-compare-" not in worktrees
