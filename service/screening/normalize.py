"""Names as comparable forms: every way tejun rewrites a name before comparing it, and why.

A name gives one or two *variants*, each in a comparison space (`kind`) and with the list of steps that
produced it, so a match can say exactly which normalizations made two names meet:

* `text`: Unicode NFKC (full/half width, compatibility characters such as ㈱), case folding, diacritics
  removed (Ryūichi → ryuichi), punctuation as spaces, legal-form words dropped for organizations (株式会社,
  (株), 有限会社, Co., Ltd., Inc., Corporation, 国立大学法人, ...), and for Japanese script: katakana folded to
  hiragana and long vowels written out (トーキョー = とうきょう = とおきょお).
* `romaji`: Japanese script transliterated to Latin letters (pykakasi, Hepburn), then Hepburn spelling
  variants folded to one spelling (ou/oo/oh/ō → o, uu → u, shi/si, chi/ti, tsu/tu, fu/hu, ji/zi, mb/nb):
  株式会社トーキョー電子 → "tokyo densi" = Tokyo Denshi Co., Ltd. Transliteration guesses readings, so a
  match found only here is never called exact (see matching.py).

Words such as University / 大学 are *not* dropped or translated: 東京大学 and "The University of Tokyo" are
the same organization only when a list or a roster says so as an alias. Nationality, country or any other
attribute of a person never enters a name's forms.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

# -- words that say what kind of legal person something is, not which one ------------------------------------
LEGAL_FORMS_JA = (
    # longest first: 国立大学法人 before 大学法人-like fragments
    "国立研究開発法人", "地方独立行政法人", "独立行政法人", "特定非営利活動法人", "国立大学法人", "公立大学法人",
    "一般社団法人", "公益社団法人", "一般財団法人", "公益財団法人", "社会福祉法人", "医療法人", "学校法人",
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社",
    "股份有限公司", "有限责任公司", "有限責任公司", "有限公司",
    "(株)", "(有)", "(合)", "(財)", "(社)", "(独)", "(学)",
)
LEGAL_FORMS_LATIN = frozenset({
    "co", "company", "companies", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc", "llp",
    "lp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "kk", "pte", "pty",
    "jsc", "ojsc", "pjsc", "cjsc", "oao", "zao", "ooo", "kabushikigaisha", "kabushikikaisha", "yugengaisha",
    "yugenkaisha", "godogaisha", "godokaisha",
})
LEGAL_PHRASES_LATIN = (
    ("kabushiki", "kaisha"), ("kabushiki", "gaisha"), ("yugen", "kaisha"), ("godo", "kaisha"),
    ("national", "university", "corporation"), ("incorporated", "administrative", "agency"),
    ("joint", "stock", "company"), ("limited", "liability", "company"),
)
# abbreviations written out in organizations' names
ABBREVIATIONS = {"inst": "institute", "univ": "university", "intl": "international", "natl": "national",
                 "tech": "technology", "acad": "academy", "lab": "laboratory", "labs": "laboratories"}
# words that carry no identity in an organization's name, also left out of the search keys
STOPWORDS = frozenset({"the", "of", "and", "for", "de", "du", "la", "le", "der", "die", "und"})

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u31f0-\u31ff]")
_SPACES = re.compile(r"\s+")
_DROP_MARKS = {"'", "’", "‘", "`", "´"}
_HIRAGANA_VOWELS = {"A": "あ", "I": "い", "U": "う", "E": "え", "O": "お"}


@dataclass(frozen=True)
class Variant:
    """One comparable form of a name."""

    kind: str  # text | romaji
    text: str  # tokens separated by single spaces
    steps: tuple[str, ...]

    @property
    def compact(self) -> str:
        return self.text.replace(" ", "")


def has_japanese(text: str) -> bool:
    return bool(_JAPANESE.search(text or ""))


# -- single steps -------------------------------------------------------------------------------------------
def nfkc(text: str) -> str:
    """Full-width Latin → ASCII, half-width katakana → full width, ㈱ → (株), ideographic space → space."""
    return unicodedata.normalize("NFKC", text)


def strip_diacritics(text: str) -> str:
    """ū → u, é → e; leaves kana alone (their voicing marks are letters of their own after NFC)."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not (unicodedata.combining(ch) and ord(ch) < 0x3000))
    return unicodedata.normalize("NFC", kept)


def punctuation_to_spaces(text: str) -> str:
    out = []
    for ch in text:
        if ch in _DROP_MARKS:
            continue
        category = unicodedata.category(ch)
        if ch == "ー":
            out.append(ch)  # the long-vowel mark is a letter here
        elif category[0] in "PS" or category[0] == "Z":
            out.append(" ")
        else:
            out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()


def katakana_to_hiragana(text: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in text)


def _vowel_of(ch: str) -> str | None:
    """The vowel a kana ends in, from its Unicode name (HIRAGANA LETTER SMALL YO → O)."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    if not name.startswith(("HIRAGANA LETTER", "KATAKANA LETTER")):
        return None
    last = name.rsplit(" ", 1)[-1]
    if last == "N":
        return None
    return last[-1] if last[-1] in _HIRAGANA_VOWELS else None


def fold_long_vowels(text: str) -> str:
    """Write long vowels one way: ー after a kana repeats its vowel, and おう/えい become おお/ええ.

    So トーキョー, トウキョウ and とうきょう all become とおきょお.
    """
    out: list[str] = []
    for ch in text:
        previous = _vowel_of(out[-1]) if out else None
        if ch == "ー" and previous:
            out.append(_HIRAGANA_VOWELS[previous])
        elif ch == "う" and previous == "O":
            out.append("お")
        elif ch == "い" and previous == "E":
            out.append("え")
        else:
            out.append(ch)
    return "".join(out)


def drop_legal_forms_ja(text: str) -> tuple[str, bool]:
    changed = False
    for form in LEGAL_FORMS_JA:
        if form in text:
            rest = text.replace(form, " ")
            if rest.strip():
                text, changed = rest, True
    return _SPACES.sub(" ", text).strip(), changed


def drop_legal_forms_latin(tokens: list[str]) -> tuple[list[str], bool]:
    kept = list(tokens)
    for phrase in LEGAL_PHRASES_LATIN:
        n = len(phrase)
        i = 0
        while i + n <= len(kept):
            if tuple(kept[i:i + n]) == phrase and len(kept) > n:
                del kept[i:i + n]
            else:
                i += 1
    remaining = [t for t in kept if t not in LEGAL_FORMS_LATIN]
    if not remaining:
        return tokens, False
    return remaining, remaining != tokens


_HEPBURN_RULES = (
    (re.compile(r"tch"), "tt"),
    (re.compile(r"shi"), "si"),
    (re.compile(r"sh([aueo])"), r"sy\1"),
    (re.compile(r"chi"), "ti"),
    (re.compile(r"ch([aueo])"), r"ty\1"),
    (re.compile(r"tsu"), "tu"),
    (re.compile(r"fu"), "hu"),
    (re.compile(r"ji"), "zi"),
    (re.compile(r"j([aueo])"), r"zy\1"),
    (re.compile(r"dzu"), "zu"),
    (re.compile(r"m(?=[bmp])"), "n"),
    (re.compile(r"oh(?![aeiouy])"), "o"),
    (re.compile(r"ou"), "o"),
    (re.compile(r"([aeiou])\1+"), r"\1"),
)


def fold_hepburn(text: str) -> str:
    """One spelling for the ways Japanese is written in Latin letters (applied to both sides alike)."""
    for pattern, replacement in _HEPBURN_RULES:
        text = pattern.sub(replacement, text)
    return text


# -- transliteration ----------------------------------------------------------------------------------------
_kakasi = None
_kakasi_lock = threading.Lock()


def _transliterator():
    """pykakasi's converter, loaded once per process (loading its dictionary takes a moment)."""
    global _kakasi
    if _kakasi is None:
        with _kakasi_lock:
            if _kakasi is None:
                import pykakasi

                _kakasi = pykakasi.kakasi()
    return _kakasi


def romanize(text: str) -> str:
    """Japanese script → Hepburn romaji, words separated by spaces (other characters pass through)."""
    parts = []
    for item in _transliterator().convert(text):
        parts.append(item["hepburn"] if has_japanese(item["orig"]) else item["orig"])
    return " ".join(parts)


# -- whole names ---------------------------------------------------------------------------------------------
def _latin_tokens(text: str, organization: bool, steps: list[str]) -> list[str]:
    tokens = [t for t in text.split(" ") if t]
    if organization:
        expanded = [ABBREVIATIONS.get(t, t) for t in tokens]
        if expanded != tokens:
            tokens = expanded
            steps.append("abbreviations")
        tokens, dropped = drop_legal_forms_latin(tokens)
        if dropped:
            steps.append("legal_form")
        without_stopwords = [t for t in tokens if t not in STOPWORDS]
        if without_stopwords and without_stopwords != tokens:
            tokens = without_stopwords
            steps.append("stopwords")
    return tokens


def variants(name: str, *, organization: bool) -> list[Variant]:
    """The comparable forms of one name (empty when nothing comparable is left)."""
    if not name or not name.strip():
        return []
    steps = []
    text = nfkc(name)
    if text != name:
        steps.append("nfkc")
    if text.casefold() != text:
        steps.append("case")
    text = text.casefold()
    plain = strip_diacritics(text)
    if plain != text:
        steps.append("diacritics")
    text = plain
    japanese = has_japanese(text)
    if organization and japanese:
        text, dropped = drop_legal_forms_ja(text)
        if dropped:
            steps.append("legal_form")
    spaced = punctuation_to_spaces(text)
    if spaced != text:
        steps.append("punctuation")
    text = spaced
    romaji_source = text
    if japanese:
        kana = fold_long_vowels(katakana_to_hiragana(text))
        if kana != text:
            steps.append("kana")
        text = kana
    tokens = _latin_tokens(text, organization, steps)
    base = Variant("text", " ".join(tokens), tuple(steps))
    found = [base] if base.text else []

    romaji_steps = [s for s in steps if s not in ("kana",)]
    if japanese:
        latin = punctuation_to_spaces(romanize(romaji_source).casefold())
        romaji_steps.append("romaji")
    else:
        latin = base.text
    latin_tokens = _latin_tokens(latin, organization, romaji_steps)
    folded = " ".join(fold_hepburn(t) for t in latin_tokens)
    if folded != " ".join(latin_tokens):
        romaji_steps.append("hepburn")
    folded = " ".join(t for t in folded.split(" ") if t)
    if folded and folded != base.text and not has_japanese(folded):
        steps_unique = tuple(dict.fromkeys(romaji_steps))
        found.append(Variant("romaji", folded, steps_unique))
    return found


STEP_LABELS = {
    "nfkc": "Unicode NFKC (全角/半角)",
    "case": "case",
    "diacritics": "diacritics",
    "punctuation": "punctuation",
    "legal_form": "legal-form words",
    "stopwords": "stop words",
    "abbreviations": "abbreviations (Inst., Univ., ...)",
    "kana": "kana folding (カタカナ/ひらがな, 長音)",
    "romaji": "romaji transliteration",
    "hepburn": "Hepburn variants (ou/oo/o, shi/si, tsu/tu, ...)",
}
