"""Matching subjects against list entries: an index over the entries' names, scores, evidence, classes.

The index keeps every name and alias of every entry in its comparable forms (normalize.py), grouped by what
it can be compared with (people with people, organizations with organizations, entries of unknown type
with both) and by comparison space (`text`, `romaji`). Search keys (token prefixes and suffixes, kana/kanji
bigrams, the first and last letters of the name without spaces) narrow tens of thousands of names to the
few worth scoring; very common keys ("uni" of University) are ignored unless nothing else is left, in which
case the whole space is scored. Scoring is rapidfuzz (`process.extract`): the better of token-sort ratio
(word order ignored: "Yamada Taro" = "Taro Yamada") and plain ratio with spaces ignored
("tokyodaigaku" = "tokyo daigaku").

Classes: `exact` (100: the same after the lossless normalizations of the `text` space), `probable`
(>= TEJUN_SCREENING_PROBABLE, default 90), `possible` (>= TEJUN_SCREENING_POSSIBLE, default 80), else `none`.
A match found only through transliteration is capped at 99: it can be probable, never exact.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from ..config import _env
from .normalize import STEP_LABELS, STOPWORDS, Variant, variants

TRANSLITERATED_CAP = 99.0
TARGETS = {"person": ("person", "unknown"), "organization": ("organization", "unknown")}
_LATIN = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class Thresholds:
    probable: float = 90.0
    possible: float = 80.0
    # at most this many hits per subject are kept (best first)
    max_hits: int = 10

    def __post_init__(self):
        if not 0 < self.possible <= self.probable <= 100:
            raise ValueError("screening thresholds need 0 < possible <= probable <= 100")
        if self.max_hits < 1:
            raise ValueError("TEJUN_SCREENING_MAX_HITS must be at least 1")

    @classmethod
    def from_env(cls) -> Thresholds:
        """TEJUN_SCREENING_PROBABLE, TEJUN_SCREENING_POSSIBLE, TEJUN_SCREENING_MAX_HITS (README)."""
        return cls(
            probable=float(_env("SCREENING_PROBABLE", "90")),
            possible=float(_env("SCREENING_POSSIBLE", "80")),
            max_hits=int(_env("SCREENING_MAX_HITS", "10")),
        )

    def classify(self, score: float) -> str:
        if score >= 100:
            return "exact"
        if score >= self.probable:
            return "probable"
        if score >= self.possible:
            return "possible"
        return "none"


CLASS_RANK = {"none": 0, "possible": 1, "probable": 2, "exact": 3}


@dataclass(frozen=True)
class ListedParty:
    """What the index needs of one list entry."""

    ref: int
    entity_type: str  # person | organization | other | unknown
    names: tuple[tuple[str, str], ...]  # (label, name): ("name", ...), ("alias", ...)


@dataclass
class Match:
    ref: int
    score: float
    classification: str
    evidence: dict


@dataclass
class _Space:
    texts: list[str] = field(default_factory=list)
    compacts: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    steps: list[tuple[str, ...]] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    common: set[str] = field(default_factory=set)

    def add(self, owner: int, label: str, name: str, variant: Variant) -> None:
        index = len(self.texts)
        self.texts.append(variant.text)
        self.compacts.append(variant.compact)
        self.owners.append(owner)
        self.labels.append(label)
        self.names.append(name)
        self.steps.append(variant.steps)
        for key in search_keys(variant.text):
            self.postings[key].append(index)

    def seal(self) -> None:
        limit = max(200, len(self.texts) // 50)
        self.common = {key for key, found in self.postings.items() if len(found) > limit}
        self.postings = dict(self.postings)

    def candidates(self, text: str) -> list[int] | None:
        """Indexes worth scoring for `text`; None means: score them all."""
        keys = search_keys(text)
        found: set[int] = set()
        usable = False
        for key in keys:
            if key in self.common:
                continue
            usable = True
            found.update(self.postings.get(key, ()))
        if not usable and keys:
            return None
        return sorted(found)


def search_keys(text: str) -> set[str]:
    keys: set[str] = set()
    for token in text.split(" "):
        if not token or token in STOPWORDS:
            continue
        if _LATIN.match(token):
            if len(token) <= 3:
                keys.add("t:" + token)
            else:
                keys.add("p:" + token[:3])
                keys.add("s:" + token[-3:])
        elif len(token) == 1:
            keys.add("b:" + token)
        else:
            keys.update("b:" + token[i:i + 2] for i in range(len(token) - 1))
    compact = text.replace(" ", "")
    if len(compact) >= 4:
        keys.add("c:" + compact[:4])
        keys.add("e:" + compact[-4:])
    return keys




def _describe_steps(steps: Iterable[str]) -> list[str]:
    return [STEP_LABELS.get(step, step) for step in steps]


class EntryIndex:
    """Every name of every entry of the lists in force, ready to be searched."""

    def __init__(self, parties: Iterable[ListedParty]):
        self.parties: list[ListedParty] = []
        self._spaces: dict[tuple[str, str], _Space] = defaultdict(_Space)
        for party in parties:
            position = len(self.parties)
            self.parties.append(party)
            organization = party.entity_type != "person"
            for label, name in party.names:
                for variant in variants(name, organization=organization):
                    for target, types in TARGETS.items():
                        if party.entity_type in types:
                            self._spaces[(target, variant.kind)].add(position, label, name, variant)
        for space in self._spaces.values():
            space.seal()
        self._spaces = dict(self._spaces)

    def __len__(self) -> int:
        return len(self.parties)

    @property
    def name_count(self) -> int:
        return sum(len(space.texts) for space in self._spaces.values())

    def search(
        self, names: Iterable[tuple[str, str]], target: str, thresholds: Thresholds
    ) -> list[Match]:
        """Entries looking like any of `names` ((label, name) pairs of one subject), best first."""
        best: dict[int, tuple[float, int, dict]] = {}
        organization = target != "person"
        for label, name in names:
            for variant in variants(name, organization=organization):
                space = self._spaces.get((target, variant.kind))
                if space is None:
                    continue
                for index, score, scorer in self._score(space, variant, thresholds.possible):
                    if variant.kind != "text":
                        score = min(score, TRANSLITERATED_CAP)
                    owner = space.owners[index]
                    rank = (score, 1 if variant.kind == "text" else 0)
                    current = best.get(owner)
                    if current is not None and (current[0], current[1]) >= rank:
                        continue
                    evidence = {
                        "subject": {"label": label, "name": name, "form": variant.text,
                                    "normalizations": _describe_steps(variant.steps)},
                        "entry": {"label": space.labels[index], "name": space.names[index],
                                  "form": space.texts[index], "normalizations": _describe_steps(space.steps[index])},
                        "space": variant.kind,
                        "scorer": scorer,
                        "score": round(score, 1),
                    }
                    best[owner] = (score, rank[1], evidence)
        matches = [
            Match(self.parties[owner].ref, round(score, 1), thresholds.classify(score), evidence)
            for owner, (score, _kind, evidence) in best.items()
            if thresholds.classify(score) != "none"
        ]
        matches.sort(key=lambda m: (-m.score, m.ref))
        return matches[: thresholds.max_hits]

    @staticmethod
    def _score(space: _Space, variant: Variant, cutoff: float):
        candidates = space.candidates(variant.text)
        if candidates is None:
            texts, compacts, positions = space.texts, space.compacts, None
        elif not candidates:
            return []
        else:
            texts = [space.texts[i] for i in candidates]
            compacts = [space.compacts[i] for i in candidates]
            positions = candidates
        scored: dict[int, tuple[float, str]] = {}
        for _choice, score, i in process.extract(
            variant.text, texts, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, limit=None
        ):
            scored[i] = (score, "token_sort_ratio")
        for _choice, score, i in process.extract(
            variant.compact, compacts, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            if score > scored.get(i, (0.0, ""))[0]:
                scored[i] = (score, "ratio_without_spaces")
        return [
            (positions[i] if positions is not None else i, score, scorer) for i, (score, scorer) in scored.items()
        ]
