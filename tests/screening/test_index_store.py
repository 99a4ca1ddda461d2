"""One index per snapshot: built at import, stored in the database, loaded (not rebuilt) by every process, and
searching it finds exactly what building it in the process finds."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from service.auth.actor import SYSTEM
from service.models import ScreeningEntry, ScreeningIndex
from service.screening import index_store, lists
from service.screening.importers import import_list
from service.screening.matching import BLOB_FORMAT, EntryIndex, ListedParty, Thresholds
from tests.screening.driver import SAMPLES

PARTIES = [
    ListedParty(11, "organization", (("name", "Tokyo Denshi Co., Ltd."), ("alias", "株式会社トーキョー電子"))),
    ListedParty(12, "organization", (("name", "The University of Tokyo"), ("alias", "東京大学"))),
    ListedParty(13, "person", (("name", "TANAKA, Ryuichi"), ("alias", "田中 竜一"))),
    ListedParty(14, "unknown", (("name", "Harbin Institute of Technology"), ("alias", "HIT"))),
    ListedParty(15, "other", (("name", "OCEAN FICTION"),)),
    *(ListedParty(100 + i, "organization", (("name", f"Fictional Trading {i} Company Limited"),)) for i in range(300)),
]
QUERIES = [("organization", "Tokyo Denshi"), ("organization", "トウキョウ電子"), ("organization", "東京大学"),
           ("person", "Tanaka Ryuichi"), ("person", "田中竜一"), ("organization", "Harbin Inst. of Tech."),
           ("person", "HIT"), ("organization", "Fictional Trading 7 Co"), ("organization", "Company Limited"),
           ("organization", "OCEAN FICTION")]


def _found(index, thresholds=Thresholds()):
    return [[(m.ref, m.score, m.classification, m.evidence) for m in index.search([("name", q)], target, thresholds)]
            for target, q in QUERIES]


def test_a_loaded_index_finds_exactly_what_a_built_one_finds():
    built = EntryIndex(PARTIES)
    blob = built.to_bytes()
    loaded = EntryIndex.from_bytes(blob)
    assert len(loaded) == len(built) and loaded.name_count == built.name_count
    assert _found(loaded) == _found(built)
    assert _found(loaded, Thresholds(probable=95, possible=60)) == _found(built, Thresholds(probable=95, possible=60))
    assert any(_found(built))  # the queries do find something
    assert loaded.to_bytes() == blob  # nothing lost on the way


def test_a_blob_of_another_format_is_refused():
    with pytest.raises(ValueError):
        EntryIndex.from_bytes(b"not zlib")
    import zlib

    with pytest.raises(ValueError, match="not a tejun"):
        EntryIndex.from_bytes(zlib.compress(b"XXXX...."))


def test_the_import_stores_the_index_and_a_fresh_process_loads_it_without_building(svc, monkeypatch):
    report = import_list(svc, SYSTEM, "us_csl", SAMPLES / "us_csl.csv", rescreen=False)
    with svc.db.reader() as session:
        stored = session.get(ScreeningIndex, report.snapshot_id)
        assert stored.format == BLOB_FORMAT and stored.entry_count == report.row_count
        entries = session.scalar(select(ScreeningEntry.id).where(ScreeningEntry.snapshot_id == report.snapshot_id)
                                 .limit(1))
        built = index_store.build(session, report.snapshot_id)
    monkeypatch.setattr(lists, "_indexes", type(lists._indexes)())  # a new process: nothing cached

    def no_building(*_args):
        raise AssertionError("a stored index must be loaded, not built")

    monkeypatch.setattr(index_store, "build", no_building)
    with svc.db.reader() as session:
        loaded = lists.index_of(session, report.snapshot_id)
    assert entries in loaded.refs
    names = [("name", "WATANABE Kenji"), ("alias", "Strelsau Photonics"), ("name", "渡辺 健二")]
    for target in ("person", "organization"):
        assert ([vars(m) for m in loaded.search(names, target, Thresholds())]
                == [vars(m) for m in built.search(names, target, Thresholds())])


def test_a_snapshot_without_a_stored_index_is_built_and_ensure_stores_it(svc, monkeypatch):
    report = import_list(svc, SYSTEM, "meti_end_user_list", SAMPLES / "meti_end_user_list.xlsx", rescreen=False)
    with svc.db.transaction() as session:
        session.execute(delete(ScreeningIndex).where(ScreeningIndex.snapshot_id == report.snapshot_id))
    monkeypatch.setattr(lists, "_indexes", type(lists._indexes)())
    with svc.db.reader() as session:
        index = lists.index_of(session, report.snapshot_id)  # built in the process, as before
    assert len(index) == report.row_count
    with svc.db.transaction() as session:
        assert report.snapshot_id in index_store.ensure(session)
    with svc.db.reader() as session:
        assert index_store.load(session, report.snapshot_id).to_bytes() == index.to_bytes()


def test_migration_0015_builds_the_index_of_every_snapshot_imported_before(tmp_path):
    from datetime import UTC, date, datetime

    from sqlalchemy import create_engine, insert, text

    from service.migrate import upgrade
    from service.models import ScreeningSnapshot

    url = f"sqlite:///{tmp_path / 'before-0015.sqlite3'}"
    upgrade(url, "0014")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            snapshot_id = conn.execute(insert(ScreeningSnapshot).values(
                source="us_csl", label="before", list_date=date(2026, 1, 1), file_name="x.csv", checksum="0" * 64,
                row_count=2, skipped_rows=0, imported_by_name="system", imported_at=datetime.now(UTC),
            )).inserted_primary_key[0]
            conn.execute(insert(ScreeningEntry), [
                {"snapshot_id": snapshot_id, "entry_key": f"k{i}", "content_hash": "0" * 64, "entity_type": kind,
                 "name": name, "aliases": aliases, "addresses": [], "countries": [], "programs": [], "remarks": ""}
                for i, (kind, name, aliases) in enumerate([("person", "TANAKA, Ryuichi", ["田中 竜一"]),
                                                           ("organization", "Tokyo Denshi Co., Ltd.", [])])])
        upgrade(url, "head")
        with engine.connect() as conn:
            (blob,) = conn.execute(text("SELECT data FROM screening_indexes WHERE snapshot_id = :s"),
                                   {"s": snapshot_id}).one()
        loaded = EntryIndex.from_bytes(bytes(blob))
        assert len(loaded) == 2
        assert [m.score for m in loaded.search([("name", "田中竜一")], "person", Thresholds())] == [100.0]
    finally:
        engine.dispose()
