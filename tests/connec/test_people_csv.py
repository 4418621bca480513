"""An organisation loads its people from a spreadsheet, and gets them back out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from connec.db import Database, migrate
from connec.models import AuditEntry, Person
from connec.people_csv import (
    COLUMNS,
    export_file,
    import_file,
    matrix_id_problem,
    parse_file,
    print_report,
)
from connec.settings import Settings, load_settings

EXAMPLE = Path(__file__).parents[2] / "docs" / "people-example.csv"
HEADER = ",".join(COLUMNS)


@pytest.fixture
async def settings(tmp_path: Path) -> Settings:
    """A data folder with a migrated SQLite database, on server "connec.test"."""
    settings = load_settings(
        tmp_path,
        synapse={"server_name": "connec.test", "federation_allowlist": ["frivillig.example"]},
    )
    await asyncio.to_thread(migrate, settings.db_url)
    return settings


def write(tmp_path: Path, *rows: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


async def people(settings: Settings) -> dict[str, Person]:
    db = Database(settings.db_url)
    try:
        async with db.session() as session:
            found = (await session.scalars(select(Person))).all()
    finally:
        await db.close()
    return {person.matrix_id: person for person in found}


def snapshot(found: dict[str, Person]) -> dict[str, dict[str, object]]:
    skip = {"_sa_instance_state"}
    return {
        key: {name: value for name, value in vars(person).items() if name not in skip}
        for key, person in found.items()
    }


# Reading the file, without a database ----------------------------------------------------------


def parse(text: str, **kwargs: object):
    return parse_file(
        text,
        own_server=str(kwargs.get("own_server", "connec.test")),
        allowed_servers=kwargs.get("allowed", ["frivillig.example"]),  # type: ignore[arg-type]
        this_year=2025,
    )


def test_a_good_row_becomes_a_whole_profile() -> None:
    parsed = parse(
        f"{HEADER}\n"
        "citizen,@karen:connec.test,Karen Hansen,1946,female,Aarhus,8000,da;en,"
        "jazz;Havearbejde;gardening;Kim Larsen,chat;voice,thu-pm;tue-am,\n"
    )
    assert parsed.errors == []
    [row] = parsed.rows
    assert row.profile() == {
        "role": "citizen",
        "display_name": "Karen Hansen",
        "birth_year": 1946,
        "gender": "female",
        "municipality": "Aarhus",
        "postcode": "8000",
        "languages": ["da", "en"],
        "interest_keys": ["jazz", "gardening"],
        "interest_words": ["Kim Larsen"],
        "contact_modes": ["chat", "voice"],
        "availability": ["tue-am", "thu-pm"],
        "capacity": 1,
        "profile_complete": True,
    }
    # An interest the taxonomy does not know is kept, and said, but is no error.
    [note] = parsed.notes
    assert note.line == 2 and "Kim Larsen" in note.reason and "own words" in note.reason


def test_each_bad_row_is_reported_by_its_line_with_a_reason_in_plain_words() -> None:
    parsed = parse(
        f"{HEADER}\n"
        "citizen,@ok:connec.test,Okay Person,1950,,,,da,jazz,chat,mon-am,\n"
        "\n"  # a blank line still counts as a line of the file
        "teacher,@a:connec.test,A,1950,,,,da,,,,\n"
        "citizen,karen,Karen,1950,,,,da,,,,\n"
        "citizen,@b:elsewhere.example,B,1950,,,,da,,,,\n"
        "citizen,@c:connec.test,C,2015,,,,da,,,,\n"
        "citizen,@d:connec.test,D,1950,,,,xx,,,,\n"
        "citizen,@e:connec.test,E,1950,,,,da,,fax,,\n"
        "citizen,@f:connec.test,F,1950,,,,da,,,tuesday,\n"
        "volunteer,@g:connec.test,G,1980,,,,da,,,,5\n"
        "citizen,@h:connec.test,,1950,,,,da,,,,\n"
        "citizen,@ok:connec.test,Okay Again,1950,,,,da,,,,\n"
        "citizen,@I:connec.test,I,1950,,,,da,,,,\n"
        "volunteer,@j:frivillig.example,Jens,1980,male,,,da,,,,3\n"
    )
    reasons = {problem.line: problem.reason for problem in parsed.errors}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert "role 'teacher'" in reasons[4]
    assert "not a Matrix ID like @karen:connec.test" in reasons[5]
    assert "elsewhere.example" in reasons[6] and "allow-list" in reasons[6]
    assert "18 or older" in reasons[7]
    assert "'xx'" in reasons[8] and "ISO 639-1" in reasons[8]
    assert "'fax'" in reasons[9] and "chat, voice, video" in reasons[9]
    assert "'tuesday'" in reasons[10] and "mon-am" in reasons[10]
    assert "capacity '5'" in reasons[11]
    assert "display_name is empty" in reasons[12]
    assert "already on line 2" in reasons[13]
    assert "lower case" in reasons[14]
    # A volunteer on an allowed organisation's server is fine.
    assert [row.matrix_id for row in parsed.rows] == ["@ok:connec.test", "@j:frivillig.example"]


def test_a_row_with_several_problems_lists_each_of_them() -> None:
    parsed = parse(f"{HEADER}\ncitizen,@x:connec.test,X,19x0,alien,,,,,,,\n")
    assert [p.line for p in parsed.errors] == [2, 2]
    assert "not a year" in parsed.errors[0].reason
    assert "gender 'alien'" in parsed.errors[1].reason


def test_a_file_without_the_named_columns_is_refused_at_line_one() -> None:
    parsed = parse("Karen,@karen:connec.test\n")
    [problem] = parsed.errors
    assert problem.line == 1 and "missing: role, matrix_id, display_name" in problem.reason
    assert parsed.rows == []


def test_a_danish_spreadsheet_with_semicolons_between_columns_is_understood() -> None:
    text = (
        "\ufeff" + HEADER.replace(",", ";") + "\n"
        'citizen;@karen:connec.test;Karen;1946;female;Aarhus;8000;"da;en";jazz;chat;tue-am;\n'
    )
    parsed = parse(text)
    assert parsed.errors == []
    assert parsed.rows[0].languages == ["da", "en"]


def test_matrix_ids_are_checked_against_this_server_and_the_allow_list() -> None:
    assert matrix_id_problem("@karen:connec.test", "connec.test", []) is None
    assert matrix_id_problem("@karen:org.example:8448", "connec.test", ["org.example:8448"]) is None
    assert matrix_id_problem("@karen:org.example", "connec.test", []) is not None
    assert matrix_id_problem("karen", "connec.test", []) is not None
    assert matrix_id_problem("@Karen:connec.test", "connec.test", []) is not None


def test_the_example_file_has_ten_people_and_no_problems() -> None:
    parsed = parse(EXAMPLE.read_text(encoding="utf-8"), own_server="localhost")
    assert parsed.errors == []
    assert len(parsed.rows) == 10
    roles = [row.role for row in parsed.rows]
    assert (
        roles.count("citizen") == 4 and roles.count("volunteer") == 4 and roles.count("peer") == 2
    )
    # Every citizen shares at least one interest with some volunteer.
    citizens = [r for r in parsed.rows if r.role == "citizen"]
    volunteers = [r for r in parsed.rows if r.role == "volunteer"]
    for citizen in citizens:
        assert any(set(citizen.interest_keys) & set(v.interest_keys) for v in volunteers)


# Loading into a database ------------------------------------------------------------------------


async def test_an_import_loads_the_good_rows_reports_the_bad_and_changes_nothing_the_second_time(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "citizen,@karen:connec.test,Karen Hansen,1946,female,Aarhus,8000,da,"
        "havearbejde;jazz;Kim Larsen,chat;voice,tue-am;thu-pm,",
        "volunteer,@mette:connec.test,Mette Larsen,1985,female,Aarhus,8200,da;en,"
        "gardening;jazz,chat;video,tue-am,2",
        "volunteer,@bad:connec.test,Bad Year,19850,,,,da,,,,",
        "peer,@bent:connec.test,Bent,1944,male,,,da,fiskeri,chat,mon-am,",
    )
    report = await import_file(settings, path)
    assert sorted(report.created) == [
        "@bent:connec.test",
        "@karen:connec.test",
        "@mette:connec.test",
    ]
    assert [(e.line, e.matrix_id) for e in report.errors] == [(4, "@bad:connec.test")]

    found = await people(settings)
    assert set(found) == set(report.created)
    karen, mette = found["@karen:connec.test"], found["@mette:connec.test"]
    assert karen.profile_complete and karen.state == "active"
    assert karen.interest_keys == ["gardening", "jazz"] and karen.interest_words == ["Kim Larsen"]
    # The organisation vetted its own volunteers.
    assert mette.approval == "approved" and mette.capacity == 2
    before = snapshot(found)

    again = await import_file(settings, path)
    assert again.created == [] and again.updated == []
    assert sorted(again.unchanged) == sorted(report.created)
    assert snapshot(await people(settings)) == before

    db = Database(settings.db_url)
    async with db.session() as session:
        audits = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "people_imported"))
        ).all()
    await db.close()
    assert len(audits) == 1 and audits[0].details == {"created": 3, "updated": 0}


async def test_a_changed_row_updates_the_person_and_keeps_what_the_file_does_not_say(
    settings: Settings, tmp_path: Path
) -> None:
    first = write(tmp_path, "citizen,@poul:connec.test,Poul,1941,male,,,da,fodbold,chat,,")
    await import_file(settings, first)
    db = Database(settings.db_url)
    async with db.session() as session:
        poul = await session.scalar(select(Person).where(Person.matrix_id == "@poul:connec.test"))
        assert poul is not None
        poul.about, poul.language, poul.age_min = "Gammel sømand", "en", 60
    await db.close()

    second = write(
        tmp_path,
        "citizen,@poul:connec.test,Poul Jensen,1941,male,Odense,5000,da,fodbold;kortspil,chat,,",
        name="again.csv",
    )
    report = await import_file(settings, second)
    assert report.updated == ["@poul:connec.test"]
    poul = (await people(settings))["@poul:connec.test"]
    assert poul.display_name == "Poul Jensen" and poul.interest_keys == ["football", "card_games"]
    assert (poul.about, poul.language, poul.age_min) == ("Gammel sømand", "en", 60)


async def test_staff_are_never_overwritten_by_an_import(settings: Settings, tmp_path: Path) -> None:
    db = Database(settings.db_url)
    async with db.session() as session:
        session.add(Person(matrix_id="@coordinator:connec.test", role="coordinator"))
    await db.close()
    report = await import_file(
        settings, write(tmp_path, "volunteer,@coordinator:connec.test,Boss,1970,,,,da,,,,")
    )
    [problem] = report.errors
    assert problem.line == 2 and "coordinator" in problem.reason
    assert (await people(settings))["@coordinator:connec.test"].role == "coordinator"


async def test_export_writes_what_import_reads_and_the_round_trip_is_exact(
    settings: Settings, tmp_path: Path
) -> None:
    # The example is for a server called "localhost": every row is refused here.
    refused = await import_file(settings, EXAMPLE)
    assert len(refused.errors) == 10 and refused.loaded == 0

    local = tmp_path / "example.csv"
    local.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(":localhost", ":connec.test"), encoding="utf-8"
    )
    report = await import_file(settings, local)
    assert len(report.created) == 10 and report.errors == []

    exported = tmp_path / "exported.csv"
    assert await export_file(settings, exported) == 10
    text = exported.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    assert "havearbejde" not in text and "gardening;jazz;baking;Kim Larsen" in text

    # Into a fresh database, and out again: the same file.
    other = load_settings(tmp_path / "other", synapse={"server_name": "connec.test"})
    await asyncio.to_thread(migrate, other.db_url)
    again = await import_file(other, exported)
    assert len(again.created) == 10 and again.errors == []
    assert len(again.notes) == len(report.notes)
    second = tmp_path / "second.csv"
    await export_file(other, second)
    assert second.read_text(encoding="utf-8") == text

    # And importing its own export changes nothing.
    assert (await import_file(settings, exported)).unchanged == report.created


async def test_export_to_standard_output(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await import_file(settings, write(tmp_path, "citizen,@lis:connec.test,Lis,1950,,,,da,,,,"))
    assert await export_file(settings, None) == 1
    out = capsys.readouterr().out
    assert out == f"{HEADER}\r\ncitizen,'@lis:connec.test,Lis,1950,,,,da,,,,,\r\n"


async def test_the_report_names_each_problem_by_line(settings: Settings, tmp_path: Path) -> None:
    report = await import_file(
        settings,
        write(
            tmp_path,
            "citizen,@lis:connec.test,Lis,1950,,,,da,Morris Minor,,,",
            "citizen,@nope,Nope,1950,,,,da,,,,",
        ),
    )
    console = Console(record=True, width=200)
    print_report(report, console)
    text = console.export_text()
    assert "1 added, 0 updated, 0 already up to date" in text
    [row] = [line for line in text.splitlines() if "@nope" in line]
    assert "3" in row.split("@nope")[0] and "not a Matrix ID" in row
    assert "Morris Minor" in text and "own words" in text


def test_the_command_line_reports_bad_rows_and_fails(settings: Settings, tmp_path: Path) -> None:
    from connec.cli import main

    # No connec.toml in this data folder: the server is called "localhost".
    path = write(tmp_path, "citizen,@lis:localhost,Lis,1950,,,,da,,,,", "citizen,x,X,,,,,,,,,")
    assert main(["people", "import", str(path), "--data-dir", str(settings.data_dir)]) == 1
    assert main(["people", "export", "--data-dir", str(settings.data_dir)]) == 0


# Spreadsheets, connec's own accounts, and files that are not what they should be --------------


async def test_an_export_never_hands_a_spreadsheet_a_formula(
    settings: Settings, tmp_path: Path
) -> None:
    import csv
    import stat

    names = [
        '=HYPERLINK("http://evil.example")',
        "+45 Karen 1234",
        "-x",
        "@SUM(A1)",
        "\tTab",
        "\rCR",
    ]
    db = Database(settings.db_url)
    async with db.session() as session:
        for n, name in enumerate(names):
            session.add(
                Person(
                    matrix_id=f"@p{n}:connec.test",
                    role="citizen",
                    display_name=name,
                    interest_words=[f"=cmd|' /C calc'!A{n}"],
                    languages=["da"],
                )
            )
    await db.close()
    exported = tmp_path / "out.csv"
    await export_file(settings, exported)
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600  # personal data
    with exported.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert [row[2] for row in rows] == [f"'{name}" for name in names]

    # Read back, every value is as it was.
    other = load_settings(tmp_path / "other", synapse={"server_name": "connec.test"})
    await asyncio.to_thread(migrate, other.db_url)
    report = await import_file(other, exported)
    assert report.errors == [] and len(report.created) == len(names)
    found = await people(other)
    assert [found[f"@p{n}:connec.test"].display_name for n in range(len(names))] == [
        " ".join(name.split()) for name in names
    ]
    assert found["@p0:connec.test"].interest_words == ["=cmd|' /C calc'!A0"]


async def test_volunteers_not_yet_approved_are_marked_and_stay_unapproved(
    settings: Settings, tmp_path: Path
) -> None:
    db = Database(settings.db_url)
    async with db.session() as session:
        for name, approval in (("ok", "approved"), ("wait", "pending"), ("no", "rejected")):
            session.add(
                Person(
                    matrix_id=f"@{name}:connec.test",
                    role="volunteer",
                    display_name=name,
                    approval=approval,
                )
            )
    await db.close()
    exported = tmp_path / "out.csv"
    await export_file(settings, exported)
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",approval")
    assert [line.rsplit(",", 1)[1] for line in lines[1:]] == ["approved", "pending", "rejected"]

    other = load_settings(tmp_path / "other", synapse={"server_name": "connec.test"})
    await asyncio.to_thread(migrate, other.db_url)
    assert (await import_file(other, exported)).errors == []
    found = await people(other)
    assert {key: p.approval for key, p in found.items()} == {
        "@ok:connec.test": "approved",
        "@wait:connec.test": "pending",
        "@no:connec.test": "rejected",
    }
    assert found["@wait:connec.test"].approved_by is None


async def test_connecs_own_accounts_are_never_imported_as_people(
    settings: Settings, tmp_path: Path
) -> None:
    report = await import_file(
        settings,
        write(
            tmp_path,
            "volunteer,@matchmaker:connec.test,Bot,1970,,,,da,,,,",
            "citizen,@scheduler:connec.test,Bot,1950,,,,da,,,,",
            "citizen,@connec-admin:connec.test,Admin,1950,,,,da,,,,",
            "citizen,@lis:connec.test,Lis,1950,,,,da,,,,",
        ),
    )
    assert report.created == ["@lis:connec.test"]
    reasons = {problem.matrix_id: problem.reason for problem in report.errors}
    assert "matchmaker bot, not a person" in reasons["@matchmaker:connec.test"]
    assert "scheduler bot, not a person" in reasons["@scheduler:connec.test"]
    assert "server admin" in reasons["@connec-admin:connec.test"]
    assert set(await people(settings)) == {"@lis:connec.test"}


async def test_a_latin_1_file_is_refused_in_words_with_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "\ncitizen,@lis:connec.test,Lis,1950,,,,da,,,,\n").encode()
        + "citizen,@soeren:connec.test,Søren,1950,,,,da,,,,\n".encode("latin-1")
    )
    report = await import_file(settings, path)
    [problem] = report.errors
    assert problem.line == 3 and "not UTF-8" in problem.reason and "CSV UTF-8" in problem.reason
    assert report.loaded == 0 and await people(settings) == {}


async def test_a_field_too_long_for_csv_is_reported_in_words(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "citizen,@lis:connec.test,Lis,1950,,,,da,,,,",
        'citizen,@ole:connec.test,"Ole' + "x" * (128 * 1024) + '",1950,,,,da,,,,',
        "citizen,@per:connec.test,Per,1950,,,,da,,,,",
    )
    report = await import_file(settings, path)
    [problem] = report.errors
    assert problem.line == 3 and "longer than 131072 characters" in problem.reason
    assert report.created == ["@lis:connec.test"]


def test_a_long_field_within_csv_is_a_problem_of_its_row() -> None:
    parsed = parse(
        HEADER + "\n"
        "citizen,@lis:connec.test,Lis,1950,,,,da," + "x" * 3000 + ",,,\n"
        "volunteer,@ole:connec.test,Ole,1950,,,,da,,,," + "9" * 5000 + "\n"
    )
    assert [(p.line, p.matrix_id) for p in parsed.errors] == [
        (2, "@lis:connec.test"),
        (3, "@ole:connec.test"),
    ]
    assert "longer than 2000 characters" in parsed.errors[0].reason


def test_the_command_line_says_what_is_wrong_with_a_file_without_a_traceback(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from connec.cli import main

    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\ncitizen,@lis:localhost,Lærke,1950,,,,da,,,,\n").encode("latin-1"))
    assert main(["people", "import", str(path), "--data-dir", str(settings.data_dir)]) == 1
    assert (
        main(
            [
                "people",
                "import",
                str(tmp_path / "missing.csv"),
                "--data-dir",
                str(settings.data_dir),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "not UTF-8" in out and "missing.csv cannot be read" in out
    assert "Traceback" not in out
