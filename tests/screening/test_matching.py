"""Names: normalization of Japanese and Latin names, scores with their evidence, thresholds and classes."""

from __future__ import annotations

import pytest

from service.screening.matching import EntryIndex, ListedParty, Thresholds
from service.screening.normalize import variants

ENTRIES = [
    ListedParty(1, "organization", (("name", "Tokyo Denshi Co., Ltd."),)),
    ListedParty(2, "organization", (("name", "The University of Tokyo"),)),
    ListedParty(3, "person", (("name", "TANAKA, Ryuichi"),)),
    ListedParty(4, "organization", (("name", "Harbin Institute of Technology"), ("alias", "HIT"))),
    ListedParty(5, "organization", (("name", "カタカナ精機"),)),
    ListedParty(6, "other", (("name", "TOKYO DENSHI"),)),  # a vessel: never compared with anyone
]


@pytest.fixture(scope="module")
def index():
    return EntryIndex(ENTRIES)


def search(index, *names, target="organization", thresholds=None):
    named = [(f"name{i}", n) for i, n in enumerate(names)]
    return index.search(named, target, thresholds or Thresholds())


def forms(name, organization=True):
    return {v.kind: v.text for v in variants(name, organization=organization)}


def test_japanese_company_names_meet_their_latin_spelling(index):
    assert forms("株式会社トーキョー電子")["romaji"] == forms("Tokyo Denshi Co., Ltd.")["romaji"] == "tokyo densi"
    (match,) = search(index, "株式会社トーキョー電子")
    assert match.ref == 1 and match.classification == "probable" and match.score == 99.0
    evidence = match.evidence
    assert evidence["subject"]["name"] == "株式会社トーキョー電子"
    assert evidence["entry"]["name"] == "Tokyo Denshi Co., Ltd." and evidence["entry"]["label"] == "name"
    assert evidence["space"] == "romaji"
    steps = " ".join(evidence["subject"]["normalizations"] + evidence["entry"]["normalizations"])
    assert "legal-form" in steps and "romaji" in steps and "Hepburn" in steps
    # the legal form in any of its writings, and full-width letters
    spellings = ("トーキョー電子(株)", "㈱トーキョー電子",
                 "ＴＯＫＹＯ　ＤＥＮＳＨＩ　ＣＯ．，ＬＴＤ．", "tokyo denshi inc")
    for spelling in spellings:
        assert search(index, spelling)[0].ref == 1, spelling


def test_half_width_katakana_hiragana_and_long_vowels_fold(index):
    assert forms("ｶﾀｶﾅ", False)["text"] == forms("カタカナ", False)["text"] == forms("かたかな", False)["text"]
    long_vowels = {forms(name, False)["text"] for name in ("トーキョー", "トウキョウ", "とうきょう")}
    assert len(long_vowels) == 1
    (match,) = search(index, "ｶﾀｶﾅ精機株式会社")
    assert match.ref == 5 and match.classification == "exact" and match.evidence["space"] == "text"


@pytest.mark.parametrize("spelling, expected", [
    ("Ryūichi Tanaka", "exact"),  # diacritics only: the same name
    ("Ryuichi TANAKA", "exact"),
    ("Tanaka Ryuichi", "exact"),  # word order does not matter
    ("Ryuuichi Tanaka", "probable"),  # a Hepburn variant: transliteration, never exact
    ("田中 竜一", "probable"),  # kanji read as romaji
    ("ﾀﾅｶ ﾘｭｳｲﾁ", "probable"),
])
def test_latin_variants_of_japanese_names(index, spelling, expected):
    (match,) = search(index, spelling, target="person")
    assert (match.ref, match.classification) == (3, expected)


def folded(name):
    found = forms(name, False)
    return found.get("romaji", found["text"])  # no romaji form when folding changes nothing


def test_hepburn_variants_fold_to_one_spelling():
    assert folded("Shinichi Ohno") == folded("Sinichi Ono") == folded("Shin'ichi Oono") == "siniti ono"
    assert folded("Tsutomu") == folded("Tutomu")
    assert folded("Jun'ichirō") == folded("Zyunitiro")
    assert forms("Kōbe", False)["text"] == "kobe"


def test_people_and_organizations_are_not_compared(index):
    assert search(index, "Tokyo Denshi", target="person") == []
    assert search(index, "TANAKA Ryuichi", target="organization") == []


def test_a_university_matches_its_other_language_name_only_through_an_alias(index):
    assert [m for m in search(index, "東京大学") if m.classification in ("exact", "probable")] == []
    (match,) = search(index, "東京大学", "The University of Tokyo")
    assert match.ref == 2 and match.classification == "exact"
    assert match.evidence["subject"]["label"] == "name1"
    assert match.evidence["subject"]["name"] == "The University of Tokyo"
    # and the other way round: an entry that lists the Japanese name as an alias
    aliased = EntryIndex([ListedParty(9, "organization", (("name", "The University of Tokyo"), ("alias", "東京大学")))])
    (match,) = search(aliased, "国立大学法人 東京大学")
    assert match.classification == "exact" and match.evidence["entry"]["label"] == "alias"


def test_thresholds_decide_the_class_and_what_is_kept(index):
    assert Thresholds().classify(100) == "exact"
    assert Thresholds(probable=95, possible=85).classify(93) == "possible"
    assert Thresholds(probable=95, possible=85).classify(80) == "none"
    loose = search(index, "Harbin Institute of Tech Shenzhen")
    assert loose and loose[0].ref == 4 and loose[0].classification == "possible"
    assert search(index, "Harbin Institute of Tech Shenzhen", thresholds=Thresholds(probable=98, possible=95)) == []
    with pytest.raises(ValueError):
        Thresholds(probable=70, possible=80)


def test_thresholds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEJUN_SCREENING_PROBABLE", "93")
    monkeypatch.setenv("TEJUN_SCREENING_POSSIBLE", "85")
    monkeypatch.setenv("TEJUN_SCREENING_MAX_HITS", "3")
    assert Thresholds.from_env() == Thresholds(probable=93, possible=85, max_hits=3)


def test_many_entries_are_searched_through_the_index():
    parties = [ListedParty(i, "organization", ((("name", f"Fictional Trading {i} Company Limited"),)))
               for i in range(20000)]
    parties.append(ListedParty(99999, "organization", (("name", "Strelsau Photonics Trading Co. Ltd."),)))
    index = EntryIndex(parties)
    (match,) = [m for m in search(index, "Strelsau Photonics Trading") if m.score >= 90]
    assert match.ref == 99999
