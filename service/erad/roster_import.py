"""Reading a team roster the research-security office already keeps (Excel .xlsx or CSV) into the roster form.

The first row names the columns: the roster form's own field titles in Japanese or English (氏名, e-Rad 研究者番号,
役割, ..., or Name, e-Rad researcher number, Role, ...), or the field names (`name`, `erad_researcher_number`,
...); a few common variants are accepted too (`ALIASES`). Columns tejun does not know are listed and ignored.
Each further row is one member of the lead institution's team, or of a partner institution's team when the
optional column 共同研究先 / Partner names one of the case's partners (its name in either language, its code, or
its partner id in the roster draft; empty: the lead's team). Each member is checked against the form's member
schema (the lead's or the partners') exactly as submitting the form would check it: `parse` returns every row
with its problems, and nothing is stored. The page then puts the rows without problems into the roster task's
draft (`save_draft`, `fill`): the lead's team and the team of each partner the file names are replaced (a
partner of the case not yet in the draft is added with its institution), the others are left as they were; the
office reviews them there before submitting the form.

Values: a role or "filled by" choice by its code or its title in either language; yes/no as はい/いいえ,
yes/no, true/false, 1/0, ○/×; dates as 2026-04-01, 2026/4/1 or a spreadsheet date. e-Rad researcher numbers a
spreadsheet stored as numbers (which drops leading zeros) are padded back to eight digits.
CSV files may be UTF-8 (with or without BOM) or Shift_JIS (cp932), as Excel writes them in Japan.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..errors import N_, InvalidRequest
from ..forms.schema import validate
from . import RESEARCHER_NUMBER_RULE

MAX_ROWS = 500
ROSTER_FORM = "team_roster.schema.json"
ALIASES = {
    "名前": "name", "氏名": "name", "ローマ字": "name_latin", "氏名(ローマ字)": "name_latin",
    "研究者番号": "erad_researcher_number", "e-rad研究者番号": "erad_researcher_number",
    "e-radresearchernumber": "erad_researcher_number", "researchernumber": "erad_researcher_number",
    "部局": "department", "所属": "department", "メール": "email", "e-mail": "email", "ユーザー名": "username",
    "同意": "consent_obtained", "consent": "consent_obtained", "記入者": "filled_by",
}
PARTNER = "partner"  # the column naming a member's partner institution (not a member field)
PARTNER_HEADERS = ("共同研究先", "共同研究機関", "共同研究先機関", "共同研究先id", "partner", "partnerinstitution",
                   "partnerid", "partner_id")
YES = {"はい", "yes", "y", "true", "1", "○", "◯", "✓", "済", "有"}
NO = {"いいえ", "no", "n", "false", "0", "×", "✗", "無"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass(frozen=True)
class PartnerTeam:
    """A partner institution whose team a file may fill: one in the roster draft, or a party of the case."""

    key: str  # "org:<organization id>", or "name:<name>" for a draft partner without an institution
    name: str
    organization_id: int | None
    names: frozenset[str]  # what a file may call it (normalized with `_key`)


def partner_teams(roster: dict | None, parties=()) -> list[PartnerTeam]:
    """The partners of the roster draft (`roster["partners"]`) and the case's partner institutions (`parties`:
    (organization id, name, English name, code) each), one entry per institution."""
    found: dict[str, PartnerTeam] = {}
    drafted = (roster or {}).get("partners") if isinstance(roster, dict) else None
    for partner in drafted if isinstance(drafted, list) else []:
        if not isinstance(partner, dict) or not (partner.get("organization_id") or partner.get("name")):
            continue
        org = partner.get("organization_id") if isinstance(partner.get("organization_id"), int) else None
        key = f"org:{org}" if org else f"name:{partner.get('name')}"
        names = {_key(v) for v in (partner.get("partner_id"), partner.get("name"), partner.get("name_latin")) if v}
        found[key] = PartnerTeam(key, str(partner.get("name") or ""), org, frozenset(names))
    for org, name, name_en, code in parties:
        key = f"org:{org}"
        names = {_key(v) for v in (name, name_en, code) if v}
        old = found.get(key)
        found[key] = PartnerTeam(key, old.name if old else name, org, frozenset(names | (old.names if old else set())))
    return list(found.values())


def fill(roster: dict, lead: list[dict], partners: dict[str, list[dict]], teams: list[PartnerTeam]) -> dict:
    """The roster with the lead's team replaced by `lead` (unless empty) and each partner's team of `partners`
    (key -> members) replaced; a partner of the case not yet in the draft is added with its institution."""
    roster = dict(roster)
    if lead:
        roster["members"] = lead
    if partners:
        by_key = {team.key: team for team in teams}
        drafted = [dict(p) for p in roster.get("partners") or [] if isinstance(p, dict)]
        for key, members in partners.items():
            team = by_key[key]
            for partner in drafted:
                org = partner.get("organization_id")
                if (f"org:{org}" if isinstance(org, int) and org else f"name:{partner.get('name')}") == key:
                    partner["members"] = members
                    break
            else:
                drafted.append({"organization_id": team.organization_id, "name": team.name, "members": members})
        roster["partners"] = drafted
    return roster


@dataclass
class Row:
    number: int  # the row in the file (the header is row 1)
    member: dict
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message)
    partner: PartnerTeam | None = None  # None: the lead institution's team

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Preview:
    rows: list[Row]
    columns: list[str]  # the member fields the file's columns were read as, in file order
    ignored: list[str]  # headers tejun does not know
    problems: list[str] = field(default_factory=list)  # about the file as a whole

    @property
    def valid_members(self) -> list[dict]:
        """The lead institution's team: its rows without problems."""
        return [row.member for row in self.rows if row.ok and row.partner is None]

    @property
    def partner_members(self) -> dict[str, list[dict]]:
        """Each named partner's team (by `PartnerTeam.key`): its rows without problems."""
        found: dict[str, list[dict]] = {}
        for row in self.rows:
            if row.ok and row.partner is not None:
                found.setdefault(row.partner.key, []).append(row.member)
        return found


def member_schema(roster_schema: dict) -> dict:
    """The schema of one lead-institution team member inside the roster form."""
    try:
        return roster_schema["properties"]["roster"]["properties"]["members"]["items"]
    except (KeyError, TypeError):
        raise InvalidRequest(N_("this task's form has no team roster")) from None


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s_　]+", "", text).replace("（", "(").replace("）", ")")


def partner_member_schema(roster_schema: dict) -> dict | None:
    """The schema of one member of a partner's team, None when the form has no partner teams."""
    try:
        return roster_schema["properties"]["roster"]["properties"]["partners"]["items"]["properties"]["members"][
            "items"]
    except (KeyError, TypeError):
        return None


def header_map(schema: dict) -> dict[str, str]:
    """Normalized header text -> member field, from the schema's titles (both languages) and field names."""
    found = {_key(k): v for k, v in ALIASES.items()}
    for name, prop in (schema.get("properties") or {}).items():
        found[_key(name)] = name
        if isinstance(prop, dict):
            for title in (prop.get("title"), ((prop.get("x-i18n") or {}).get("en") or {}).get("title")):
                if title:
                    found[_key(title)] = name
    return found


def _choices(prop: dict) -> dict[str, str]:
    found = {}
    for option in prop.get("oneOf") or []:
        if isinstance(option, dict) and "const" in option:
            const = str(option["const"])
            for text in (const, option.get("title"), ((option.get("x-i18n") or {}).get("en") or {}).get("title")):
                if text:
                    found[_key(text)] = const
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _convert(name: str, prop: dict, raw) -> object:
    """A cell as the form field wants it; values that do not convert are passed on for the schema to refuse."""
    if name == "erad_researcher_number" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        number = int(raw)
        return f"{number:08d}" if 0 <= number < 10**8 and number == raw else _text(raw)
    text = _text(raw)
    kind = prop.get("type")
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        lowered = text.lower()
        return True if lowered in YES else False if lowered in NO else text
    if prop.get("format") == "date":
        match = _DATE.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
            except ValueError:
                return text
        return text
    if prop.get("oneOf"):
        return _choices(prop).get(_key(text), text)
    return text


def read_table(filename: str, content: bytes) -> list[list]:
    """The file's rows as lists of cell values (xlsx: the first sheet)."""
    extension = Path(filename or "").suffix.lower()
    if extension == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a file that is no workbook
            raise InvalidRequest(N_("this file cannot be read as an Excel workbook (.xlsx)")) from None
        try:
            sheet = book.worksheets[0]
            rows = []
            for values in sheet.iter_rows(values_only=True):
                rows.append(list(values))
                if len(rows) > MAX_ROWS + 1:
                    break
            return rows
        finally:
            book.close()
    if extension == ".csv":
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidRequest(N_("this CSV file is neither UTF-8 nor Shift_JIS text"))
        try:
            return [row for _i, row in zip(range(MAX_ROWS + 2), csv.reader(io.StringIO(text)), strict=False)]
        except csv.Error:
            raise InvalidRequest(N_("this file cannot be read as CSV")) from None
    raise InvalidRequest(N_("choose an Excel (.xlsx) or CSV (.csv) file"))


def parse(filename: str, content: bytes, roster_schema: dict, partners: list[PartnerTeam] = ()) -> Preview:
    """Every data row of the file as a member (of the lead's team, or of the partner its 共同研究先 column names
    among `partners`), with its problems; nothing is stored."""
    schema = member_schema(roster_schema)
    partner_schema = partner_member_schema(roster_schema)
    props = schema.get("properties") or {}
    table = [row for row in read_table(filename, content) if any(_text(v) for v in row)]
    if not table:
        raise InvalidRequest(N_("the file is empty"))
    if len(table) > MAX_ROWS + 1:
        raise InvalidRequest(N_("a roster file may have at most %(rows)d rows"), params={"rows": MAX_ROWS})
    headers = header_map(schema)
    headers.update({_key(h): PARTNER for h in PARTNER_HEADERS})
    columns: list[str | None] = []
    ignored: list[str] = []
    for cell in table[0]:
        name = headers.get(_key(_text(cell)))
        if name in columns:
            name = None  # a second column for the same field: the first one counts
        columns.append(name)
        if name is None and _text(cell):
            ignored.append(_text(cell))
    preview = Preview([], [c for c in columns if c and c != PARTNER], ignored)
    if "name" not in columns:
        preview.problems.append(N_("no column holds the members' names (氏名 / Name)"))
        return preview
    named = {name: team for team in partners for name in team.names}
    for number, values in enumerate(table[1:], start=2):
        member = {}
        partner_name = ""
        for name, raw in zip(columns, values, strict=False):
            if name is None or _text(raw) == "":
                continue
            if name == PARTNER:
                partner_name = _text(raw)
                continue
            member[name] = _convert(name, props.get(name) or {}, raw)
        if not partner_name:
            preview.rows.append(Row(number, member, check_member(schema, member)))
            continue
        team = named.get(_key(partner_name))
        errors = check_member(partner_schema, member) if partner_schema else []
        if partner_schema is None:
            errors.insert(0, (PARTNER, N_("this form has no partner teams")))
        elif team is None:
            errors.insert(0, (PARTNER, N_("not a partner institution of this case")))
        preview.rows.append(Row(number, member, errors, team))
    lead_rows = [row for row in preview.rows if row.partner is None and not any(f == PARTNER for f, _m in row.errors)]
    if (lead_rows or not preview.rows) and not any(row.ok and row.member.get("role") == "pi" for row in lead_rows):
        preview.problems.append(N_("the team needs its principal investigator (role: pi / 研究代表者)"))
    return preview


def check_member(schema: dict, member: dict) -> list[tuple[str, str]]:
    """The member's problems as (field, message): the form's own checks, with plainer words for the usual."""
    found = []
    for error in validate(schema, member):
        name = error.pointer.lstrip("/").split("/", 1)[0]
        if error.keyword == "required":
            message = N_("this column is required")
        elif name == "erad_researcher_number":
            message = RESEARCHER_NUMBER_RULE
        elif error.keyword == "format" and "date" in error.message:
            message = N_("enter a date as YYYY-MM-DD")
        elif error.keyword in ("oneOf", "enum", "const"):
            message = N_("not one of the choices")
        elif name == "consent_obtained":
            message = N_("the member's consent is needed")
        else:
            message = error.message
        if (name, message) not in found:
            found.append((name, message))
    return found
