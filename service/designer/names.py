"""Names catalogs: what people read for the procedure's elements and case data, in Japanese and English.

The BPMN files name an element once (often only in Japanese); `bpmn/names/<model>.json` gives each element a
person reads (a step, an event, a gateway, a flow, a data input) its name in both languages, and
`bpmn/names/data.json` names the case data's variables, their codes, and which of them are internal:

    {"elements": {"<element id>": {"ja": "…", "en": "…"}}}
    {"data": {"<variable>": {"ja": "…", "en": "…", "values": {"<code>": {"ja": "…", "en": "…"}},
                             "kind": "organization" | "program" | "call"}},
     "internal": {"<variable>": "why people do not read it"}}

The catalogs are presentation, like the translation catalogs: they live with the deployment (the folder
`names` beside the models, `TEJUN_BPMN_DIR/names`), not in a model version, so a name can be corrected
without a new version; an element or variable a catalog does not name falls back to what the model says.
Readers: the diagram viewer (`localize_xml`), the audit timeline and history (service/audit/presentation.py).
The designer's validation warns when an element a person reads has no name in the other language
(`warnings`): not an error, a version still runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ..engine.loader import BPMN_NS, Problem

DATA_FILE = "data.json"
LANGS = ("ja", "en")
# elements drawn with their name (message, signal, error and escalation definitions are named by codes)
SHOWN = frozenset({
    "process", "participant", "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask",
    "receiveTask", "businessRuleTask", "callActivity", "subProcess", "transaction", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "inclusiveGateway",
    "parallelGateway", "eventBasedGateway", "complexGateway", "sequenceFlow", "dataInput", "dataOutput",
    "dataObjectReference", "dataStoreReference",
})
# "日本語 (English)" and "日本語 english": names that already carry both languages ("準備 (partner_id)" does not:
# a code is no English name)
_JA = r"[\u3040-\u30ff\u4e00-\u9fff]"
_BOTH = re.compile(rf"^.*{_JA}.*?\s*[(（][^()（）_]*[A-Za-z][^()（）_]*[)）]\s*$"
                   rf"|^.*{_JA}[^A-Za-z]*?\s+[A-Za-z][A-Za-z .,'-]*$")


@dataclass
class Catalog:
    elements: dict[str, dict[str, str]] = field(default_factory=dict)  # element id -> {lang: name}
    files: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # model stem -> its elements
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    internal: dict[str, str] = field(default_factory=dict)

    def element(self, element_id: str | None, lang: str, model: str | None = None) -> str | None:
        """The element's name in `lang`: from its model's catalog (`model`: the BPMN file's name); without a
        model, from any catalog that names this id."""
        table = (self.files.get(_stem(model)) or {}) if model else self.elements
        return _pick(table.get(element_id or ""), lang)

    def titles(self, lang: str) -> dict[str, str]:
        """Variable names and their codes ("variable=code") in `lang`, the shape render.describe takes."""
        found: dict[str, str] = {}
        for key, entry in self.data.items():
            if _pick(entry, lang):
                found[key] = _pick(entry, lang)
            for code, names in (entry.get("values") or {}).items():
                if _pick(names, lang):
                    found[f"{key}={code}"] = _pick(names, lang)
        return found

    def kinds(self) -> dict[str, str]:
        """Variables holding a record's id: variable -> organization | program | call."""
        return {key: entry["kind"] for key, entry in self.data.items() if isinstance(entry.get("kind"), str)}

    def lists(self) -> dict[str, str]:
        """Variables holding values of a reference list (service/forms/references.py): variable -> list."""
        return {key: entry["list"] for key, entry in self.data.items() if isinstance(entry.get("list"), str)}


def _pick(entry: Any, lang: str) -> str | None:
    if not isinstance(entry, dict):
        return None
    text = entry.get("en" if lang == "en" else "ja")
    return text if isinstance(text, str) and text.strip() else None


def _stem(name: str | None) -> str:
    name = Path(name or "").name
    return name[:-5] if name.endswith(".bpmn") else name


_loaded: dict[str, tuple[tuple, Catalog]] = {}


def load(directory: Path | str) -> Catalog:
    """The catalogs of `directory` (read again when a file there changes)."""
    folder = Path(directory)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    hit = _loaded.get(str(folder))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    catalog = Catalog()
    for path in paths:
        content = json.loads(path.read_text(encoding="utf-8"))
        if path.name == DATA_FILE:
            catalog.data = dict(content.get("data") or {})
            catalog.internal = dict(content.get("internal") or {})
            continue
        elements = {k: v for k, v in (content.get("elements") or {}).items() if isinstance(v, dict)}
        catalog.files[path.stem] = elements
        for element_id, entry in elements.items():
            catalog.elements.setdefault(element_id, entry)
    _loaded[str(folder)] = (stamp, catalog)
    return catalog


def current() -> Catalog:
    """The deployment's catalogs (`TEJUN_BPMN_DIR/names`); empty outside an application."""
    try:
        from flask import current_app

        return load(Path(current_app.extensions["tejun"].settings.bpmn_dir) / "names")
    except (RuntimeError, KeyError, AttributeError):
        return Catalog()


def localize_xml(xml: bytes, lang: str, catalog: Catalog | None = None, model: str | None = None) -> bytes:
    """The BPMN file as the viewer draws it: each element the catalog names shown by that name in `lang`."""
    catalog = catalog if catalog is not None else current()
    if not catalog.elements:
        return xml
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return xml
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        if etree.QName(node).localname not in SHOWN or not node.get("id"):
            continue
        name = catalog.element(node.get("id"), lang, model)
        if name:
            node.set("name", name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _shown_elements(root: etree._Element) -> Iterator[tuple[str, str, str]]:
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        kind = etree.QName(node).localname
        name = (node.get("name") or "").strip()
        if kind in SHOWN and name and node.get("id"):
            yield node.get("id"), kind, name


def known_codes() -> set[str]:
    """Names the pages translate themselves (roles, case variants, messages): no catalog entry needed."""
    from ..wording import labels

    return {code for table in (labels.ROLES, labels.VARIANTS, labels.MESSAGES, labels.LANE_PLACES) for code in table}


def warnings(files: Mapping[str, bytes], catalog: Catalog | None = None,
             codes: set[str] | None = None) -> list[Problem]:
    """A warning per element a person reads whose name is in one language only: neither written
    "日本語 (English)" nor named in both languages by the catalog. `codes`: names the pages translate
    themselves (known_codes() when not given)."""
    catalog = catalog if catalog is not None else current()
    codes = known_codes() if codes is None else codes
    found = []
    for name, content in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            continue  # the validation reports the file itself
        for element_id, kind, text in _shown_elements(root):
            if _BOTH.match(text) or text.partition("@")[0] in codes:
                continue
            if all(catalog.element(element_id, lang, name) for lang in LANGS):
                continue
            other = "English" if re.search(_JA, text) else "Japanese"
            found.append(Problem(name, element_id, f"warning: the {kind} '{text}' has no {other} name: add it to "
                                                    f"names/{_stem(name)}.json (\"elements\")"))
    return found


def path_warnings(paths: list[str]) -> list[Problem]:
    """`warnings` for BPMN files on disk, each with the catalogs of the `names` folder beside it. A folder
    without one keeps its models in one language (test and sample sets): not checked."""
    found: list[Problem] = []
    for given in paths:
        path = Path(given)
        if path.suffix.lower() != ".bpmn" or not path.is_file() or not (path.resolve().parent / "names").is_dir():
            continue
        try:
            catalog = load(path.resolve().parent / "names")
        except (OSError, ValueError) as exc:  # a broken catalog: every name is missing
            found.append(Problem(given, None, f"warning: cannot read the names catalogs: {exc}"))
            catalog = Catalog()
        found += warnings({given: path.read_bytes()}, catalog)
    return found
