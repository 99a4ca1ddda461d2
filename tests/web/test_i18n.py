"""Both languages: the catalogs are complete, and every page renders in Japanese and in English with no text
left in the other language."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from service.auth.preferences import set_locale
from tests.web.helpers import Case, sign_in

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "service" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}  # as `make catalogs-update` extracts


def used_msgids() -> set[str]:
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS,
        directory_filter=lambda path: "node_modules" not in path and "/." not in path,
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def catalog(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def test_every_message_in_code_and_templates_has_a_japanese_translation():
    used = used_msgids()
    assert len(used) > 150, "extraction found too few messages: is babel.cfg right?"
    ja = {m.id: m for m in catalog("ja") if m.id}
    missing = sorted(m for m in used if m not in ja)
    empty = sorted(m for m in used if m in ja and not ja[m].string)
    fuzzy = sorted(m for m in used if m in ja and ja[m].fuzzy)
    assert not missing, f"not in ja/messages.po (run `make catalogs-update` and translate): {missing}"
    assert not empty, f"no Japanese text yet: {empty}"
    assert not fuzzy, f"fuzzy (check and remove the flag): {fuzzy}"
    en = {m.id for m in catalog("en") if m.id}
    assert not sorted(used - en), "en/messages.po lacks messages: run `make catalogs-update`"


def test_placeholders_survive_translation():
    for message in catalog("ja"):
        if message.id and message.string:
            assert set(re.findall(r"%\(\w+\)[sd]", message.id)) == set(re.findall(r"%\(\w+\)[sd]", message.string)), (
                message.id)


def test_compiled_catalogs_are_current():
    for lang in ("ja", "en"):
        po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is stale: run `make catalogs`"


class VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes and labelling attributes, not scripts or data blocks."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_leftovers(text: str) -> list[str]:
    """msgids (long enough to be told apart from data) that appear untranslated in a Japanese page."""
    ja = {m.id: m.string for m in catalog("ja") if m.id}
    left = []
    for msgid, translated in ja.items():
        plain = re.sub(r"%\(\w+\)[sd]", "", msgid).strip(" :.")
        if translated == msgid or (len(plain) < 6 and " " not in plain):
            continue
        if re.search(rf"(?<![A-Za-z]){re.escape(plain)}(?![A-Za-z])", text):
            left.append(msgid)
    return left


def japanese_leftovers(text: str) -> list[str]:
    """Japanese catalog texts that appear in an English page."""
    left = []
    for message in catalog("ja"):
        plain = re.sub(r"%\(\w+\)[sd]", "", message.string or "").strip()
        if len(plain) >= 4 and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", plain) and plain in text:
            left.append(plain)
    return left


PEOPLE = ("fa_officer", "researcher", "admin", "security")


def pages(svc, world, lang: str):
    """Every kind of page, as the people who see them (who prefer `lang`: notifications and e-mail are
    written in the recipient's language)."""
    for who in PEOPLE:
        set_locale(svc, world.actor(who), lang)
    case = Case(svc, world, title="Bilingual check")
    item = case.to_fa_review()
    return [
        (None, "/login"),
        ("fa_officer", "/"),
        ("fa_officer", "/?tab=team"),
        ("fa_officer", "/?tab=org"),
        ("fa_officer", "/?tab=overdue"),
        ("fa_officer", "/cases"),
        ("fa_officer", f"/cases/{case.id}"),
        ("fa_officer", f"/cases/{case.id}?process=member_disclosure"),
        ("fa_officer", f"/tasks/{item.task_id}"),
        ("researcher", "/notifications"),
        ("researcher", "/notifications?show=all"),
        ("researcher", f"/cases/{case.id}"),
        ("admin", "/cases/999999999"),
    ]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_page_renders_in_both_languages(app, svc, world, lang):
    clients = {}
    for who, path in pages(svc, world, lang):
        if who is None:
            client = app.test_client()
            client.set_cookie("lang", lang)
        else:
            client = clients.get(who) or clients.setdefault(who, sign_in(app, world, who, lang=lang))
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html, path
        text = visible(html)
        leftovers = english_leftovers(text) if lang == "ja" else japanese_leftovers(text)
        assert not leftovers, f"{path} in {lang}: untranslated {leftovers}"
