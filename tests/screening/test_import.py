"""Importing the lists in their published layouts as versioned snapshots; the CLI; the screening API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.auth.actor import SYSTEM
from service.errors import InvalidRequest
from service.models import Event, ScreeningEntry, ScreeningSnapshot
from service.screening.importers import import_list
from tests.screening.driver import SAMPLES


def _entries(svc, snapshot_id):
    with svc.db.reader() as session:
        return {e.name: e for e in session.scalars(select(ScreeningEntry).where(
            ScreeningEntry.snapshot_id == snapshot_id))}


def test_meti_end_user_list_excel(svc):
    report = import_list(svc, SYSTEM, "meti_end_user_list", SAMPLES / "meti_end_user_list.xlsx", rescreen=False)
    if report.unchanged:  # another test imported this very file first
        assert report.row_count == 4
    entries = _entries(svc, report.snapshot_id)
    tokyo = entries["Tokyo Denshi Co., Ltd."]
    assert tokyo.aliases == ["Toukyou Denshi Kabushiki Kaisha", "TD Electronics"]
    assert tokyo.countries == ["Ruritania"] and tokyo.programs == ["N", "M"]
    assert tokyo.entity_type == "organization" and tokyo.entry_key.startswith("meti_end_user_list:")
    assert entries["Sylvania Aerospace University"].aliases == ["シルバニア航空大学"]
    with svc.db.reader() as session:
        snapshot = session.get(ScreeningSnapshot, report.snapshot_id)
    # the revision date in the title rows (令和8年10月1日) is the list's date
    assert snapshot.list_date.isoformat() == "2026-10-01" and snapshot.row_count == 4
    assert len(snapshot.checksum) == 64


def test_us_consolidated_screening_list_csv(svc):
    report = import_list(svc, SYSTEM, "us_csl", SAMPLES / "us_csl.csv", rescreen=False)
    entries = _entries(svc, report.snapshot_id)
    person = entries["WATANABE, Kenji"]
    assert person.entity_type == "person" and person.aliases == ["WATANABE, Kenzi", "WATANABE, Kennji"]
    assert person.entry_key == "us_csl:csl-0002" and person.countries == ["XF"]
    assert person.programs[0].startswith("Specially Designated Nationals")
    photonics = entries["Strelsau Photonics Trading Co. Ltd."]
    assert photonics.addresses == ["Unit 5, 12 Example Road, Strelsau, XR"] and photonics.countries == ["XR"]
    assert entries["OCEAN FICTION"].entity_type == "other"


def test_an_institution_list_belongs_to_its_institution(svc, world, tmp_path):
    with svc.db.reader() as session:
        from service.models import Organization

        code = session.get(Organization, world.lead_id).code
    with pytest.raises(InvalidRequest, match="--organization"):
        import_list(svc, SYSTEM, "institution_list", SAMPLES / "institution_list.csv")
    report = import_list(svc, SYSTEM, "institution_list", SAMPLES / "institution_list.csv",
                         organization_code=code, label="A大学 取引禁止先")
    entries = _entries(svc, report.snapshot_id)
    assert entries["株式会社フィクション精機"].aliases == ["Fiction Seiki Co. Ltd."]
    assert entries["Rufus T. Firefly"].entity_type == "person"
    assert entries["Marxonia Advanced Computing Laboratory"].programs == ["学内の共同研究禁止先（理事会決定 2025-03）"]
    # the same list saved by Excel in Japan (Shift_JIS) is the same content: a new snapshot, same entries
    sjis = tmp_path / "institution_list_sjis.csv"
    sjis.write_bytes((SAMPLES / "institution_list.csv").read_text(encoding="utf-8").encode("cp932"))
    again = import_list(svc, SYSTEM, "institution_list", sjis, organization_code=code)
    assert not again.unchanged and set(_entries(svc, again.snapshot_id)) == set(entries)
    with svc.db.reader() as session:
        (event,) = session.scalars(select(Event).where(Event.action == "screening_list_imported",
                                                       Event.data["snapshot_id"].as_integer() == report.snapshot_id))
    assert event.data["organization_id"] == world.lead_id and event.data["row_count"] == 3


def test_files_that_do_not_fit_are_refused(svc, tmp_path):
    wrong = tmp_path / "list.csv"
    wrong.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="name column"):
        import_list(svc, SYSTEM, "us_csl", wrong)
    with pytest.raises(InvalidRequest, match="xlsx"):
        import_list(svc, SYSTEM, "meti_end_user_list", SAMPLES / "us_csl.csv")
    with pytest.raises(InvalidRequest, match="unknown list"):
        import_list(svc, SYSTEM, "interpol", SAMPLES / "us_csl.csv")


def test_the_import_command(app, tmp_path):
    path = tmp_path / "consolidated.csv"
    path.write_text((SAMPLES / "us_csl.csv").read_text(encoding="utf-8")
                    + "csl-0099,Entity List (EL),,Entity,,Fictional Cli Works Ltd.,,,,,,,,,,,,,,,,,,,,,,,\n",
                    encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["screening", "import", "us_csl", str(path), "--list-date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "imported us_csl snapshot" in result.output and "list date 2026-11-20, 5 entries" in result.output
    assert "re-screened" in result.output
    again = runner.invoke(args=["screening", "import", "us_csl", str(path)])
    assert again.exit_code == 0 and again.output.startswith("unchanged")
    listing = runner.invoke(args=["screening", "snapshots"])
    assert "us_csl" in listing.output and "2026-11-20" in listing.output
    bad = runner.invoke(args=["screening", "import", "institution_list", str(path)])
    assert bad.exit_code == 1 and "--organization" in bad.output
