"""Screening throughput: subjects × list entries per second.

    .venv/bin/python bench/screening_bench.py [--entries 50000] [--subjects 20] [--rounds 5]

Builds a synthetic list (fictional organizations and people, Latin names with a share of Japanese ones, one
alias in three), indexes it as tejun does for a snapshot (service/screening/matching.py), then screens a case's
worth of subjects (Japanese and Latin person names, partner organizations, with their affiliations) against
it, as `screen_case` does, and prints the index build time and the throughput.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.screening.matching import EntryIndex, ListedParty, Thresholds  # noqa: E402
from service.screening.runs import _search  # noqa: E402
from service.screening.subjects import Subject  # noqa: E402

SYLLABLES = ["ka", "ri", "to", "mo", "na", "se", "lu", "vi", "an", "dor", "bel", "gra", "ston", "vel", "mar", "qui"]
WORDS = ["Trading", "Electronics", "Institute", "Technology", "Materials", "Research", "Aerospace", "Precision",
         "Industrial", "Optics", "Photonics", "Systems", "Machinery", "Laboratory", "Engineering", "Devices"]
FORMS = ["Co., Ltd.", "Inc.", "Corporation", "LLC", "GmbH", "Company Limited", ""]
KANA = ["カ", "リ", "ト", "モ", "ナ", "セ", "ル", "ヴィ", "アン", "ドー", "ベル", "グラ", "スト", "マル", "キ"]
FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"]
GIVEN = ["太郎", "花子", "一郎", "次郎", "健二", "竜一", "美咲", "翔太", "愛", "誠"]


def word(rng) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def organization(rng) -> str:
    if rng.random() < 0.1:
        return "株式会社" + "".join(rng.choice(KANA) for _ in range(4)) + rng.choice(["電子", "精機", "工業"])
    return f"{word(rng)} {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(FORMS)}".strip()


def person(rng) -> str:
    return f"{word(rng).upper()}, {word(rng)}"


def synthetic_list(n: int, rng) -> list[ListedParty]:
    parties = []
    for i in range(n):
        if rng.random() < 0.35:
            name, kind = person(rng), "person"
        else:
            name, kind = organization(rng), "organization"
        names = [("name", name)]
        if rng.random() < 0.33:
            names.append(("alias", person(rng) if kind == "person" else organization(rng)))
        parties.append(ListedParty(i, kind, tuple(names)))
    return parties


def subjects(n: int, rng) -> list[Subject]:
    found = []
    for i in range(n):
        if i % 5 == 4:
            found.append(Subject(f"P{i}", "organization", organization(rng), [{"label": "name_latin",
                                                                               "name": organization(rng)}]))
        else:
            found.append(Subject(f"M{i}", "person", f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                                 [{"label": "name_latin", "name": person(rng)}],
                                 [{"label": "appointment", "name": organization(rng),
                                   "relation": "current_affiliation", "end_year": None}]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(20261124)
    parties = synthetic_list(args.entries, rng)
    people = subjects(args.subjects, rng)
    thresholds = Thresholds()
    started = time.perf_counter()
    index = EntryIndex(parties)
    built = time.perf_counter() - started
    print(f"index: {len(index):,} entries, {index.name_count:,} name forms, built in {built:.1f} s "
          f"({len(index) / built:,.0f} entries/s)")
    hits = 0
    started = time.perf_counter()
    for _ in range(args.rounds):
        for subject in people:
            hits += len(_search(index, subject, thresholds))
    elapsed = time.perf_counter() - started
    pairs = args.rounds * len(people) * len(index)
    per_case = elapsed / args.rounds
    print(f"screened {len(people)} subjects x {len(index):,} entries x {args.rounds} rounds in {elapsed:.2f} s: "
          f"{pairs / elapsed:,.0f} subject-entry comparisons/s, {per_case * 1000:.0f} ms per case of "
          f"{len(people)} subjects ({hits // args.rounds} hits per round at possible >= {thresholds.possible:g})")


if __name__ == "__main__":
    main()
