"""The screening form's rows as the hits and their reviews say: the keys `derive_risk_subjects` turns into F2
(`restricted_status`) for `bpmn/risk_rubric.dmn` (`match_status`, `listed_relation`, `past_affiliation_end_year`),
the lists checked and a note naming the hits."""

from __future__ import annotations

from datetime import date

from ..models import ScreeningHit, ScreeningSnapshot
from .lists import today
from .sources import SOURCES

SCREENING_FORM = "screening_results.schema.json"
DECISIONS = ("confirmed_match", "false_positive")
RELATIONS = ("current_affiliation", "current_funding", "past_affiliation", "ties_to_listed_researchers")
# the most serious relation first: a subject's row shows the worst confirmed one
RELATION_ORDER = {r: i for i, r in enumerate(RELATIONS)}
NOTE_PREFIX = "[自動スクリーニング] "
SERIOUS = ("exact", "probable")


def _note(hits: list[ScreeningHit], snapshots: list[ScreeningSnapshot]) -> str:
    lists = "、".join(f"{SOURCES[s.source].title if s.source in SOURCES else s.source} {s.list_date.isoformat()}"
                     for s in snapshots)
    if not hits:
        return f"{NOTE_PREFIX}該当候補なし（{lists}）"
    parts = []
    for hit in hits[:5]:
        state = {"confirmed_match": "該当と確認", "false_positive": "誤検知"}.get(hit.decision or "", "未審査")
        parts.append(f"{hit.entry_name}（{hit.classification} {hit.score:g}、{state}）")
    more = f" ほか{len(hits) - 5}件" if len(hits) > 5 else ""
    return f"{NOTE_PREFIX}候補{len(hits)}件: " + "; ".join(parts) + more + f"（{lists}）"


def apply_to_row(row: dict, hits: list[ScreeningHit], snapshots: list[ScreeningSnapshot], on: date) -> None:
    """Set a form row's screening keys (those F2 reads) from the subject's hits and their reviews."""
    known = {s.code for s in SOURCES.values()}
    checked = [c for c in (row.get("lists_checked") or []) if c not in known]
    row["lists_checked"] = list(dict.fromkeys([s.source for s in snapshots] + checked)) or ["other"]
    if snapshots:
        row["list_snapshot_date"] = min(s.list_date for s in snapshots).isoformat()
    row["screened_on"] = on.isoformat()
    confirmed = [h for h in hits if h.decision == "confirmed_match"]
    if confirmed:
        worst = min(confirmed, key=lambda h: RELATION_ORDER.get(h.listed_relation or "", 99))
        row["match_status"] = "confirmed_match"
        row["listed_relation"] = worst.listed_relation or "current_affiliation"
        years = [h.past_affiliation_end_year for h in confirmed
                 if h.listed_relation == "past_affiliation" and h.past_affiliation_end_year]
        if row["listed_relation"] == "past_affiliation" and years:
            row["past_affiliation_end_year"] = max(years)
        else:
            row.pop("past_affiliation_end_year", None)
    elif any(h.decision is None for h in hits):
        row["match_status"] = "possible_match"
        row["listed_relation"] = "none"
        row.pop("past_affiliation_end_year", None)
    else:
        row["match_status"] = "no_match"
        row["listed_relation"] = "none"
        row.pop("past_affiliation_end_year", None)
    notes = row.get("notes") or ""
    if not notes or notes.startswith(NOTE_PREFIX):
        row["notes"] = _note(hits, snapshots)[:4000]


def apply_to_rows(rows: list[dict], hits: list[ScreeningHit], snapshots, subject_ids: set[str] | None) -> None:
    by_subject: dict[str, list[ScreeningHit]] = {}
    for hit in hits:
        by_subject.setdefault(hit.subject.subject_id, []).append(hit)
    on = today()
    for row in rows:
        subject_id = str(row.get("subject_id"))
        if subject_ids is None or subject_id in subject_ids:
            apply_to_row(row, by_subject.get(subject_id, []), snapshots, on)
