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

import json
import re
import struct
import sys
import zlib
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..config import _env
from .normalize import STEP_LABELS, STOPWORDS, Variant, variants

TRANSLITERATED_CAP = 99.0
TARGETS = {"person": ("person", "unknown"), "organization": ("organization", "unknown")}
_LATIN = re.compile(r"^[a-z0-9]+$")
# the layout of EntryIndex.to_bytes; a blob of another format is rebuilt from the entries (index_store.py)
BLOB_FORMAT = 1
_MAGIC = b"TJSX"


def _little(values: array) -> array:
    """The blob's arrays are little-endian whatever the machine."""
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values


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


class _Space:
    """The names of one comparison space, in compact columns once sealed (built or loaded from a blob).

    Row i is one comparable form: `texts[i]` (scored), `owners[i]` (position of its entry), `labels[i]` /
    `names[i]` (which of the entry's names it came from), `steps[i]` (normalizations, for the evidence).
    `postings` maps a search key to the rows having it; keys found on more than `limit` rows are `common`.
    Integers live in `array`s (4 bytes each instead of a 28-byte int object and a list slot), labels and
    step tuples are shared objects, and the space-less forms are made only for the rows being scored.
    """

    __slots__ = ("texts", "owners", "labels", "names", "steps", "postings", "common", "_building")

    def __init__(self):
        self.texts: list[str] = []
        self.owners: array = array("I")
        self.labels: list[str] = []
        self.names: list[str] = []
        self.steps: list[tuple[str, ...]] = []
        self.postings: dict[str, array] = {}
        self.common: frozenset[str] = frozenset()
        self._building: dict[str, list[int]] | None = defaultdict(list)

    def add(self, owner: int, label: str, name: str, variant: Variant) -> None:
        index = len(self.texts)
        self.texts.append(variant.text)
        self.owners.append(owner)
        self.labels.append(label)
        self.names.append(name)
        self.steps.append(variant.steps)
        for key in search_keys(variant.text):
            self._building[key].append(index)

    def seal(self) -> None:
        limit = max(200, len(self.texts) // 50)
        building = self._building or {}
        self.common = frozenset(key for key, found in building.items() if len(found) > limit)
        self.postings = {key: array("I", found) for key, found in building.items()}
        self._building = None
        _share(self)

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


def _share(space: _Space) -> None:
    """One object per distinct label and step tuple (a list slot each instead of a copy each)."""
    labels: dict[str, str] = {}
    steps: dict[tuple[str, ...], tuple[str, ...]] = {}
    space.labels = [labels.setdefault(label, label) for label in space.labels]
    space.steps = [steps.setdefault(tuple(s), tuple(s)) for s in space.steps]


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
    """Every name of every entry of the lists in force, ready to be searched.

    Built from the entries (`EntryIndex(parties)`: normalizing every name, seconds for a large list), or loaded
    from the blob `to_bytes` made of it (`EntryIndex.from_bytes`: no normalizing, no transliteration
    dictionary): tejun builds the blob once per snapshot at import and every process loads it
    (service/screening/index_store.py). Both give the same columns, so the same matches.
    """

    def __init__(self, parties: Iterable[ListedParty] = ()):
        self.refs: array = array("q")
        spaces: dict[tuple[str, str], _Space] = defaultdict(_Space)
        for party in parties:
            position = len(self.refs)
            self.refs.append(party.ref)
            organization = party.entity_type != "person"
            for label, name in party.names:
                for variant in variants(name, organization=organization):
                    for target, types in TARGETS.items():
                        if party.entity_type in types:
                            spaces[(target, variant.kind)].add(position, label, name, variant)
        for space in spaces.values():
            space.seal()
        self._spaces: dict[tuple[str, str], _Space] = dict(spaces)

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def name_count(self) -> int:
        return sum(len(space.texts) for space in self._spaces.values())

    # -- the blob: zlib of a JSON header (strings, tables, array sizes) and the little-endian arrays ---------
    def to_bytes(self) -> bytes:
        header: dict = {"format": BLOB_FORMAT, "refs": len(self.refs), "spaces": []}
        arrays: list[array] = [self.refs]
        for (target, kind), space in sorted(self._spaces.items()):
            label_table = sorted(set(space.labels))
            step_table = sorted(set(space.steps))
            label_of = {label: i for i, label in enumerate(label_table)}
            step_of = {steps: i for i, steps in enumerate(step_table)}
            keys = list(space.postings)
            offsets = array("I", [0])
            positions = array("I")
            for key in keys:
                positions.extend(space.postings[key])
                offsets.append(len(positions))
            header["spaces"].append({
                "target": target, "kind": kind, "rows": len(space.texts), "texts": space.texts,
                "names": space.names, "label_table": label_table, "step_table": [list(t) for t in step_table],
                "keys": keys, "common": sorted(space.common), "postings": len(positions),
            })
            arrays += [space.owners, array("B" if len(label_table) < 256 else "I", map(label_of.get, space.labels)),
                       array("H" if len(step_table) < 65536 else "I", map(step_of.get, space.steps)), offsets,
                       positions]
        head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        body = bytearray(_MAGIC + struct.pack("<I", len(head)) + head)
        for values in arrays:
            body += struct.pack("<c", values.typecode.encode()) + _little(values).tobytes()
        return zlib.compress(bytes(body), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> EntryIndex:
        try:
            data = memoryview(zlib.decompress(blob))
        except zlib.error as exc:
            raise ValueError(f"not a tejun screening index: {exc}") from None
        if bytes(data[:len(_MAGIC)]) != _MAGIC:
            raise ValueError("not a tejun screening index")
        (size,) = struct.unpack_from("<I", data, len(_MAGIC))
        at = len(_MAGIC) + 4
        header = json.loads(bytes(data[at:at + size]))
        if header.get("format") != BLOB_FORMAT:
            raise ValueError(f"screening index format {header.get('format')}, this tejun reads {BLOB_FORMAT}")
        at += size

        def take(count: int) -> array:
            nonlocal at
            values = array(bytes(data[at:at + 1]).decode())
            at += 1
            end = at + count * values.itemsize
            values.frombytes(data[at:end])
            at = end
            return _little(values)

        index = cls()
        index.refs = take(header["refs"])
        for part in header["spaces"]:
            space = _Space()
            rows = part["rows"]
            space.texts, space.names = part["texts"], part["names"]
            space.owners = take(rows)
            label_table = part["label_table"]
            step_table = [tuple(steps) for steps in part["step_table"]]
            space.labels = [label_table[i] for i in take(rows)]
            space.steps = [step_table[i] for i in take(rows)]
            offsets = take(len(part["keys"]) + 1)
            positions = take(part["postings"])
            space.postings = {key: positions[offsets[i]:offsets[i + 1]] for i, key in enumerate(part["keys"])}
            space.common = frozenset(part["common"])
            space._building = None
            index._spaces[(part["target"], part["kind"])] = space
        return index

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
            Match(self.refs[owner], round(score, 1), thresholds.classify(score), evidence)
            for owner, (score, _kind, evidence) in best.items()
            if thresholds.classify(score) != "none"
        ]
        matches.sort(key=lambda m: (-m.score, m.ref))
        return matches[: thresholds.max_hits]

    @staticmethod
    def _score(space: _Space, variant: Variant, cutoff: float):
        candidates = space.candidates(variant.text)
        if candidates is None:
            texts, positions = space.texts, None
        elif not candidates:
            return []
        else:
            texts = [space.texts[i] for i in candidates]
            positions = candidates
        compacts = [text.replace(" ", "") for text in texts]
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
