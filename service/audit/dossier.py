"""A case dossier: one zip file holding a case's whole record, checkable anywhere without tejun's database.

    python -m service.audit.dossier verify DOSSIER.zip [--anchors ANCHORS.jsonl]

exits 0 when the dossier is intact, 1 naming the first problem. Checking needs Python 3.11 and six small
files of tejun (`service/__init__.py`, `service/audit/__init__.py` and `dossier.py`, `service/eventlog/__init__.py`,
`hashing.py` and `offline.py`), nothing else: no database, no other package.

Contents:

| file | what |
| --- | --- |
| `manifest.json` | the case, its stream's head, the anchors that recorded it, the model versions, the replay |
|                 | result, and the SHA-256 of every other file |
| `events.jsonl` | every event of the case's stream, oldest first: the hashed fields, the hash, the row id |
| `models/<version hash>/<file>` | the BPMN, DMN and form files (JSON Schemas) of each model version the case ran on |
| `report.html` | the case history for people, printable |
| `submissions/round-<n>.json` | each package the institution submitted to the FA, as frozen (canonical JSON); |
|                              | the manifest lists them, and each one's SHA-256 is in a `submission_frozen` event |

Verification recomputes every file's hash against the manifest, every event's hash and link from the first
(`GENESIS`), the stream's head, each model version's content hash from its files, and that every event
names one of those versions, and that every submission package matches the hash its `submission_frozen` event
recorded. With `--anchors` (an export of `audit anchor --export` kept elsewhere) it also
checks that chain and that it recorded this stream's events as the dossier has them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from ..eventlog.hashing import HASHED_FIELDS
from ..eventlog.offline import check_chain, check_stream, model_content_hash

FORMAT = "tejun-dossier/1"
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
REPORT = "report.html"


# -- checking (standard library only) ------------------------------------------------------------------------
def verify_dossier(source, anchors_text: str | None = None) -> tuple[bool, list[str]]:
    """(intact, lines): `ok: ...` lines for what holds, `FAILED: ...` for what does not (first failure first)."""
    ok, failed = [], []
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        return False, [f"FAILED: not a readable zip file: {exc}"]
    with archive:
        names = set(archive.namelist())
        if MANIFEST not in names:
            return False, ["FAILED: manifest.json is missing"]
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except ValueError as exc:
            return False, [f"FAILED: manifest.json is not JSON: {exc}"]
        if manifest.get("format") != FORMAT:
            failed.append(f"FAILED: unknown dossier format {manifest.get('format')!r}")
        listed = manifest.get("files") or {}
        for name in sorted(listed):
            if name not in names:
                failed.append(f"FAILED: {name} is listed in the manifest but missing")
            elif hashlib.sha256(archive.read(name)).hexdigest() != listed[name]:
                failed.append(f"FAILED: {name} does not match its SHA-256 in the manifest (it was changed)")
        extra = sorted(names - set(listed) - {MANIFEST})
        if extra:
            failed.append(f"FAILED: files not in the manifest: {', '.join(extra)}")
        if not failed:
            ok.append(f"ok: {len(listed)} files match their SHA-256 in the manifest")

        events, problem = _events(archive)
        stream = manifest.get("stream", "")
        if problem is None:
            problem = check_stream(events, stream)
        if problem is not None:
            failed.append(f"FAILED: {problem}")
        else:
            head = manifest.get("head") or {}
            last = events[-1] if events else {"seq": 0, "hash": None}
            if (head.get("seq"), head.get("hash")) != (last["seq"], last["hash"]):
                failed.append(f"FAILED: the manifest says the stream ends at seq {head.get('seq')} "
                              f"({str(head.get('hash'))[:16]}…), the events end at seq {last['seq']}")
            else:
                ok.append(f"ok: {len(events)} events of {stream}, every hash and link intact, head "
                          f"{str(last['hash'])[:16]}…")

        versions = {}
        for version in manifest.get("model_versions") or []:
            prefix = f"models/{version['hash']}/"
            files = {n[len(prefix):]: archive.read(n) for n in names if n.startswith(prefix)}
            if model_content_hash(files) != version["hash"]:
                failed.append(f"FAILED: the model files under {prefix} do not make up version {version['hash'][:12]}")
            else:
                versions[version["hash"]] = version
                ok.append(f"ok: model version {version['hash'][:12]} ({len(files)} files) matches its content hash")
        unknown = sorted({e.get("model_hash") for e in events if e.get("model_hash")} - set(versions))
        if unknown and not problem:
            failed.append(f"FAILED: events name model versions the dossier does not hold: "
                          f"{', '.join(h[:12] for h in unknown)}")

        frozen = {(e.get("data") or {}).get("sha256") for e in events if e.get("action") == "submission_frozen"}
        packages = manifest.get("submissions") or []
        for package in packages:
            name = package.get("file") or ""
            if name not in names or hashlib.sha256(archive.read(name)).hexdigest() != package.get("sha256"):
                failed.append(f"FAILED: submission round {package.get('round')} ({name}) does not match its SHA-256")
            elif package.get("sha256") not in frozen:
                failed.append(f"FAILED: submission round {package.get('round')} has no submission_frozen event "
                              "with its SHA-256")
        if packages and not any(f.startswith("FAILED: submission") for f in failed):
            ok.append(f"ok: {len(packages)} submission package(s) match the hashes recorded in the events")

        by_seq = {e["seq"]: e["hash"] for e in events}
        entries = manifest.get("anchors") or []
        for entry in entries:
            if by_seq.get(entry["stream_seq"]) != entry["stream_hash"]:
                failed.append(f"FAILED: anchor {entry['seq']} recorded seq {entry['stream_seq']} of this stream with "
                              "another hash: the events were rewritten after they were anchored")
        if entries and not any(f.startswith("FAILED: anchor") for f in failed):
            ok.append(f"ok: the events agree with the {len(entries)} anchor(s) that recorded this stream")
        if anchors_text is not None:
            ok_anchor, lines = _against_anchors(entries, anchors_text, stream, by_seq)
            (ok if ok_anchor else failed).extend(lines)
    return not failed, failed + ok


def _events(archive: zipfile.ZipFile) -> tuple[list[dict], str | None]:
    try:
        text = archive.read(EVENTS).decode("utf-8")
    except KeyError:
        return [], "events.jsonl is missing"
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            return [], f"events.jsonl line {number} is not JSON"
        missing = [name for name in (*HASHED_FIELDS, "hash") if name not in event]
        if missing:
            return [], f"events.jsonl line {number} lacks {', '.join(missing)}"
        events.append(event)
    return events, None


def _against_anchors(entries: list[dict], anchors_text: str, stream: str, by_seq: dict) -> tuple[bool, list[str]]:
    anchors = [json.loads(line) for line in anchors_text.splitlines() if line.strip()]
    chain = check_chain(anchors)
    if chain.problems:
        return False, [f"FAILED: the anchor file does not check out: {chain.problems[0]}"]
    known = {a["seq"]: a for a in anchors}
    lines = []
    for entry in entries:
        anchor = known.get(entry["seq"])
        if anchor is None:
            continue  # made after the anchor file was exported
        entry_head = [stream, entry["stream_seq"], entry["stream_hash"]]
        if anchor["hash"] != entry["hash"] or entry_head not in anchor["changed"]:
            return False, [f"FAILED: anchor {entry['seq']} in the anchor file does not record this stream as the "
                           "dossier says"]
    recorded = [(seq, head) for (name, seq), (head, _a) in chain.recorded.items() if name == stream]
    for seq, head in recorded:
        if seq in by_seq and by_seq[seq] != head:
            return False, [f"FAILED: the anchor file recorded seq {seq} of {stream} with another hash"]
        if seq not in by_seq:
            return False, [f"FAILED: the anchor file recorded seq {seq} of {stream}, beyond the dossier's events"]
    lines.append(f"ok: the anchor file ({len(anchors)} anchors) checks out and agrees with this stream "
                 f"({len(recorded)} recorded head(s))")
    return True, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.audit.dossier", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check a dossier (no database needed)")
    check.add_argument("file", type=Path)
    check.add_argument("--anchors", type=Path, default=None, help="an anchor export kept elsewhere")
    args = parser.parse_args(argv)
    anchors_text = args.anchors.read_text(encoding="utf-8") if args.anchors else None
    intact, lines = verify_dossier(args.file, anchors_text)
    for line in lines:
        print(line)
    print("intact" if intact else "NOT intact", file=sys.stderr)
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
