"""Per-process memory and start-up time of the screening indexes: built in every process (the old way) or
built once at import and loaded from PostgreSQL (service/screening/index_store.py).

    .venv/bin/python bench/screening_memory.py [--meti 1000] [--csl 10000] [--database-url URL]

Writes a METI End User List (.xlsx, ~1,000 organizations, aliases one per line, a share in Japanese) and a US
Consolidated Screening List (.csv in the published layout, ~10,000 rows: people, entities, vessels, a few
alt_names each) of fictional names of the real lists' size, imports both into a PostgreSQL schema of its own
(`tejun_screenmem_<random>`, dropped at the end; `--database-url sqlite` for a temporary file) and then, for
each way, starts a fresh Python process that creates the app (as a gunicorn worker does), makes both lists'
indexes ready (`lists.index_of`) and screens one case's subjects (a Japanese name: the transliteration
dictionary is loaded then). It prints VmRSS (from /proc/self/status) at each step and the seconds taken.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SYLLABLES = ["ka", "ri", "to", "mo", "na", "se", "lu", "vi", "an", "dor", "bel", "gra", "ston", "vel", "mar", "qui",
             "zhe", "xin", "hua", "wei", "ko", "sha", "bor", "ov", "ich", "lin", "tan", "ser", "gei", "pol", "yu"]
WORDS = ["Trading", "Electronics", "Institute", "Technology", "Materials", "Research", "Aerospace", "Precision",
         "Industrial", "Optics", "Photonics", "Systems", "Machinery", "Laboratory", "Engineering", "Devices",
         "Nuclear", "Energy", "Chemical", "Shipping", "Logistics", "Import", "Export", "Group", "Academy",
         "Semiconductor", "Software", "Defense", "Instruments", "Metals", "Petroleum", "Holding"]
FORMS = ["Co., Ltd.", "Inc.", "Corporation", "LLC", "GmbH", "Company Limited", "JSC", "OOO", "FZE", ""]
KANA = ["カ", "リ", "ト", "モ", "ナ", "セ", "ル", "ヴィ", "アン", "ドー", "ベル", "グラ", "スト", "マル", "キ", "シャ"]
KANJI = ["華", "新", "東", "北", "光", "電", "科", "技", "航", "天", "機", "材", "研", "究", "所", "中"]
CSL_LISTS = ["Entity List (EL) - Bureau of Industry and Security",
             "Specially Designated Nationals (SDN) - Treasury Department",
             "Military End User (MEU) List - Bureau of Industry and Security",
             "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department"]


def word(rng) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def organization(rng) -> str:
    return f"{word(rng)} {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(FORMS)}".strip()


def person(rng) -> str:
    return f"{word(rng).upper()}, {word(rng)} {word(rng)}"


def write_meti(path: Path, n: int, rng) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "data" / "screening"))
    from make_samples import METI_TITLE
    from make_samples import write_meti as write

    rows = []
    for i in range(1, n + 1):
        aliases = [organization(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 5]))]
        if rng.random() < 0.15:
            aliases.append("".join(rng.choice(KANA) for _ in range(4)) + rng.choice(["電子", "精機", "工業"]))
        if rng.random() < 0.2:
            aliases.append("".join(rng.choice(KANJI) for _ in range(4)) + rng.choice(["研究所", "大学", "有限公司"]))
        rows.append([i, rng.choice(["Ruritania", "Freedonia", "Sylvania", "Latveria"]), organization(rng),
                     "\n".join(f"- {a}" for a in aliases), rng.choice(["N", "M", "B, C", "N, M"])])
    write(path, rows, METI_TITLE)


def write_csl(path: Path, n: int, rng) -> None:
    with (ROOT / "tests" / "data" / "screening" / "us_csl.csv").open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=header)
        out.writeheader()
        for i in range(n):
            roll = rng.random()
            if roll < 0.40:
                kind, name, aliases = "Individual", person(rng), [person(rng) for _ in range(rng.choice([0, 1, 2, 4]))]
            elif roll < 0.97:
                kind, name = "Entity", organization(rng)
                aliases = [organization(rng) for _ in range(rng.choice([0, 1, 2, 3, 6]))]
                if rng.random() < 0.1:
                    aliases.append("".join(rng.choice(KANJI) for _ in range(4)) + "有限公司")
            else:
                kind, name, aliases = "Vessel", f"{word(rng).upper()} {word(rng).upper()}", []
            out.writerow({"_id": f"csl-{i:06d}", "source": rng.choice(CSL_LISTS), "type": kind, "name": name,
                          "alt_names": "; ".join(aliases), "programs": "FICTION-EO",
                          "addresses": f"{rng.randint(1, 99)} Example Road, {word(rng)}, X{rng.choice('ABCDEF')}"})


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(way: str, snapshot_ids: list[int]) -> dict:
    """A fresh process: the app, both indexes ready, then one case's subjects screened."""
    figures = {"way": way, "start": rss_mb()}
    from service.app import create_app

    app = create_app()
    figures["app"] = rss_mb()
    from service.screening import index_store, lists, runs, subjects
    from service.screening.matching import Thresholds

    if way == "old":  # what every process did before: build each snapshot's index from its entries
        index_store.load = lambda session, snapshot_id: None
    svc = app.extensions["tejun"]
    started = time.perf_counter()
    with svc.db.reader() as session:
        indexes = [lists.index_of(session, sid) for sid in snapshot_ids]
    figures["ready_seconds"] = round(time.perf_counter() - started, 2)
    figures["indexes_ready"] = rss_mb()
    figures["name_forms"] = sum(i.name_count for i in indexes)
    subjects = [subjects.Subject("M1", "person", "山田 太郎", [{"label": "name_latin", "name": "YAMADA, Taro"}],
                                  [{"label": "appointment", "name": "Strelsau Photonics Trading Co.",
                                    "relation": "current_affiliation", "end_year": None}]),
                subjects.Subject("P1", "organization", "Freedonia Quantum Devices Inc.")]
    started = time.perf_counter()
    hits = sum(len(runs._search(index, s, Thresholds())) for index in indexes for s in subjects)
    figures["first_screening_seconds"] = round(time.perf_counter() - started, 2)
    figures["after_first_screening"] = rss_mb()
    figures["hits"] = hits
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meti", type=int, default=1000)
    parser.add_argument("--csl", type=int, default=10000)
    parser.add_argument("--database-url", default=os.environ.get("TEJUN_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--snapshots", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, [int(s) for s in args.snapshots.split(",")])))
        return

    from sqlalchemy import create_engine, text

    from service.auth.actor import SYSTEM
    from service.config import Settings
    from service.migrate import upgrade
    from service.screening.importers import import_list
    from service.services import Services
    from service.wiring import register_hooks

    rng = random.Random(20261208)
    with tempfile.TemporaryDirectory(prefix="tejun-screenmem-") as tmp:
        workdir = Path(tmp)
        admin, schema = None, None
        if args.database_url == "sqlite":
            url = f"sqlite:///{workdir / 'screenmem.sqlite3'}"
        else:
            schema = f"tejun_screenmem_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            joiner = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{joiner}options=-csearch_path%3D{schema}"
        try:
            upgrade(url)
            secret = secrets.token_hex(16)
            settings = Settings.from_env(instance_path=workdir, database_url=url, secret_key=secret,
                                         upload_dir=workdir / "uploads")
            register_hooks()  # the use cases' hook points (service/wiring.py), as create_app does
            svc = Services.from_settings(settings)
            meti, csl = workdir / "meti_end_user_list.xlsx", workdir / "us_csl.csv"
            write_meti(meti, args.meti, rng)
            write_csl(csl, args.csl, rng)
            imports = {}
            for source, path in (("meti_end_user_list", meti), ("us_csl", csl)):
                started = time.perf_counter()
                report = import_list(svc, SYSTEM, source, path, rescreen=False)
                imports[source] = {"snapshot_id": report.snapshot_id, "rows": report.row_count,
                                   "import_seconds_with_index_build": round(time.perf_counter() - started, 1)}
            with svc.db.reader() as session:
                sizes = dict(session.execute(text("SELECT snapshot_id, length(data) FROM screening_indexes")).all())
            for found in imports.values():
                found["stored_index_bytes"] = sizes.get(found["snapshot_id"])
            svc.db.dispose()
            env = {k: v for k, v in os.environ.items() if not k.startswith("TEJUN_")}
            env.update(TEJUN_DATABASE_URL=url, TEJUN_SECRET_KEY=secret, TEJUN_INSTANCE_PATH=str(workdir),
                       TEJUN_UPLOAD_DIR=str(workdir / "uploads"))
            ids = ",".join(str(found["snapshot_id"]) for found in imports.values())
            ways = {}
            for way in ("old", "new"):
                out = subprocess.run([sys.executable, __file__, "--child", way, "--snapshots", ids], env=env,
                                     capture_output=True, text=True, timeout=600, check=True)
                ways[way] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    print(json.dumps({"imports": imports, "ways": ways}, indent=2))
    print(f"\n{'RSS MB / seconds':<34}{'old: built per process':>24}{'new: loaded from PostgreSQL':>30}")
    for key, label in (("app", "app created (before)"), ("indexes_ready", "both indexes ready (after)"),
                       ("ready_seconds", "seconds to make them ready"),
                       ("after_first_screening", "after screening a Japanese name"),
                       ("first_screening_seconds", "seconds for that screening")):
        print(f"{label:<34}{ways['old'][key]:>24}{ways['new'][key]:>30}")
    print(f"{'index memory (after - before)':<34}{ways['old']['indexes_ready'] - ways['old']['app']:>24.1f}"
          f"{ways['new']['indexes_ready'] - ways['new']['app']:>30.1f}")


if __name__ == "__main__":
    main()
