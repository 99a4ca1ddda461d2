"""The lists tejun imports, and how each published layout maps onto an entry (docs/screening.md).

Every source maps the columns of its file onto the same entry fields: name, aliases, addresses, countries,
programs (reasons, types of concern), entity type, the source's own id and remarks. Headers are recognised by
any of the names given here (case, width and surrounding spaces ignored; Japanese and English headers of the
same column both work), so a list that adds or reorders columns still imports; a file without a name
column is refused, naming the columns it looked for.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParsedEntry:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    entity_type: str = "unknown"
    remarks: str = ""

    @property
    def content_hash(self) -> str:
        """Digest of everything a reviewer looks at; a decision is kept while this stays the same."""
        body = "\x1f".join([
            self.name, "|".join(self.aliases), "|".join(self.addresses), "|".join(self.countries),
            "|".join(self.programs), self.entity_type,
        ])
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Source:
    code: str  # also the value of screening_results.lists_checked (forms/screening_results.schema.json)
    title: str
    title_en: str
    formats: tuple[str, ...]  # file suffixes accepted: .xlsx, .csv
    # field -> header names that mean it (first found wins)
    columns: dict[str, tuple[str, ...]]
    # how multi-valued cells are split, per field
    separators: dict[str, str] = field(default_factory=dict)
    # entity type when the file does not say (METI's list holds organizations only)
    default_type: str = "unknown"
    type_values: dict[str, str] = field(default_factory=dict)
    # the per-institution list is owned by an organization
    per_institution: bool = False
    # a value that makes a row a continuation/heading row rather than an entry
    skip_row: Callable[[dict], bool] | None = None


def header_key(text) -> str:
    """How headers are compared: NFKC, case-folded, spaces and line breaks removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).casefold()


TYPE_VALUES = {
    "individual": "person", "person": "person", "個人": "person", "人": "person",
    "entity": "organization", "organization": "organization", "organisation": "organization",
    "company": "organization", "団体": "organization", "組織": "organization", "企業": "organization",
    "機関": "organization", "法人": "organization",
    "vessel": "other", "aircraft": "other", "船舶": "other", "航空機": "other",
}

METI_END_USER_LIST = Source(
    code="meti_end_user_list",
    title="経済産業省 外国ユーザーリスト",
    title_en="METI End User List",
    formats=(".xlsx",),
    columns={
        "key": ("No.", "No", "番号"),
        "name": ("企業名・組織名Company or Organization", "Company or Organization", "企業名・組織名", "企業名",
                 "Name"),
        "aliases": ("別名Also Known As", "Also Known As", "別名"),
        "countries": ("国名・地域名Country or Region", "Country or Region", "国名・地域名", "国名", "Country"),
        "programs": ("懸念区分Type of WMD", "Type of WMD", "懸念区分"),
        "addresses": ("住所Address", "Address", "住所"),
        "remarks": ("備考Remarks", "Remarks", "備考"),
    },
    # aliases: one per line in the cell, often led by "-" or "・"; types of concern: "B, C, M, N"
    separators={"aliases": "lines", "programs": ",", "addresses": "lines"},
    default_type="organization",
)

US_CSL = Source(
    code="us_csl",
    title="米国 Consolidated Screening List",
    title_en="US Consolidated Screening List",
    formats=(".csv",),
    columns={
        "key": ("_id", "id", "entity_number"),
        "name": ("name",),
        "aliases": ("alt_names",),
        "addresses": ("addresses",),
        "countries": ("countries",),  # not in the published file: derived from each address's last part
        "programs": ("programs",),
        "list": ("source",),  # which of the US lists (Entity List, SDN, MEU, ...): kept with the programs
        "entity_type": ("type",),
        "remarks": ("remarks",),
    },
    separators={"aliases": ";", "addresses": ";", "programs": ";", "countries": ";"},
    default_type="unknown",
)

INSTITUTION_LIST = Source(
    code="institution_list",
    title="機関が取り込んだリスト",
    title_en="List kept by the institution",
    formats=(".csv", ".xlsx"),
    columns={
        "key": ("id", "ID", "番号"),
        "name": ("name", "名称", "氏名・名称", "氏名"),
        "aliases": ("aliases", "別名"),
        "addresses": ("address", "addresses", "住所"),
        "countries": ("country", "countries", "国", "国名"),
        "programs": ("reason", "reasons", "理由", "区分"),
        "entity_type": ("type", "種別"),
        "remarks": ("remarks", "備考"),
    },
    separators={"aliases": "|;", "addresses": "|;", "countries": "|;,", "programs": "|;"},
    default_type="unknown",
    per_institution=True,
)

SOURCES: dict[str, Source] = {s.code: s for s in (METI_END_USER_LIST, US_CSL, INSTITUTION_LIST)}


def split_values(value, how: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    text = str(value).strip()
    if not text:
        return ()
    if how is None:
        parts = [text]
    elif how == "lines":
        parts = re.split(r"[\r\n]+", text)
    else:
        parts = re.split("[" + re.escape(how) + "]", text)
    cleaned = []
    for part in parts:
        part = re.sub(r"^\s*(?:[-‐・•*]|\(\d+\)|\d+[.)])\s*", "", part).strip()
        if part and part not in cleaned:
            cleaned.append(part)
    return tuple(cleaned)


def _country_of_address(address: str) -> str | None:
    parts = [p.strip() for p in address.split(",") if p.strip()]
    return parts[-1] if len(parts) >= 2 else None


def map_row(source: Source, row: dict[str, object]) -> ParsedEntry | None:
    """One row of the file (header -> cell) as an entry; None for rows without a name."""
    name = str(row.get("name") or "").strip()
    if not name:
        return None
    values = {f: split_values(row.get(f), source.separators.get(f)) for f in ("aliases", "addresses",
                                                                             "countries", "programs")}
    listed_on = str(row.get("list") or "").strip()
    if listed_on:
        values["programs"] = (listed_on, *values["programs"])
    countries = list(values["countries"])
    if source is US_CSL:
        for address in values["addresses"]:
            country = _country_of_address(address)
            if country and country not in countries:
                countries.append(country)
    raw_type = header_key(row.get("entity_type"))
    entity_type = TYPE_VALUES.get(raw_type, source.default_type) if raw_type else source.default_type
    aliases = tuple(a for a in values["aliases"] if a != name)
    key = str(row.get("key") or "").strip()
    if not key or source is METI_END_USER_LIST:
        # METI numbers entries by position, which changes between revisions: name and country identify them
        digest = hashlib.sha256(f"{header_key(name)}|{'|'.join(sorted(countries))}".encode()).hexdigest()
        key = digest[:32]
    return ParsedEntry(
        key=f"{source.code}:{key}"[:128],
        name=name,
        aliases=aliases,
        addresses=values["addresses"],
        countries=tuple(countries),
        programs=values["programs"],
        entity_type=entity_type,
        remarks=str(row.get("remarks") or "").strip(),
    )
