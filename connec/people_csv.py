"""Importing and exporting people as CSV: `connec people import FILE`, `connec people export`.

An organisation that already knows its citizens and volunteers loads them from a
spreadsheet instead of enrolling them one by one. The columns are::

    role, matrix_id, display_name, birth_year, gender, municipality, postcode,
    languages, interests, contact_modes, availability, capacity

with lists inside a field separated by ``;``:

- ``role``: citizen, volunteer or peer;
- ``matrix_id``: ``@name:server``, on connec's own homeserver or on one in
  ``synapse.federation_allowlist``;
- ``languages``: ISO 639-1 codes (``da;en``);
- ``interests``: taxonomy keys or their Danish or English names (``jazz;havearbejde``).
  Words the taxonomy does not know are kept as the person's own words, as the
  intake does, and reported as a note, not an error: matching still uses them;
- ``contact_modes``: chat, voice, video;
- ``availability``: slots ``mon-am`` … ``sun-eve`` (am, pm, eve);
- ``capacity``: 1–3, for volunteers (empty means 1);
- ``approval``: for volunteers, ``approved`` (or empty), ``pending`` or ``rejected``:
  a volunteer imported as pending waits for a coordinator like a portal sign-up.

Each row is checked on its own: a row with a problem is reported by its line in
the file, with the reason, and not loaded; the other rows are. People are matched
by ``matrix_id``, so importing the same file again changes nothing. Imported
people have a complete profile, and imported volunteers count as approved: the
organisation importing them has vetted them (a volunteer already known keeps
their approval, so an import never overrules a coordinator). Fields the file does
not have (about, wishes, language) are left as they are. connec's own accounts (the
bots, the server admin) are never imported as people.

Export writes the same columns, so an export can be imported again. A cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a
``'`` in front, so a spreadsheet shows it as text and never runs it as a formula;
import takes that ``'`` off again. Volunteers a coordinator has not approved are
marked ``pending`` (or ``rejected``) in the ``approval`` column.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from babel import Locale
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from connec.db import Database
from connec.interests import interest_by_name
from connec.models import AuditEntry, Person
from connec.people import (
    CONTACT_MODES,
    GENDERS,
    MATCHABLE_ROLES,
    MAX_CAPACITY,
    MIN_CAPACITY,
    SLOTS,
    VOLUNTEER_MIN_AGE,
)
from connec.secrets import write_private
from connec.settings import Settings

COLUMNS = (
    "role",
    "matrix_id",
    "display_name",
    "birth_year",
    "gender",
    "municipality",
    "postcode",
    "languages",
    "interests",
    "contact_modes",
    "availability",
    "capacity",
    "approval",
)
REQUIRED_COLUMNS = ("role", "matrix_id", "display_name")
APPROVALS = ("approved", "pending", "rejected")
FIELD_MAX = 2000
"""No field of a person is longer (the portal allows 2,000 characters for motivation)."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a cell starts that a spreadsheet would run as a formula (OWASP: CSV injection)."""
TEXT_MARK = "'"
LIST_SEPARATOR = ";"
OLDEST = 110
MAX_NAME = 128
MAX_MUNICIPALITY = 64
ACTOR = "connec people import"

# Lower-case localparts as Synapse registers them; a server name with an optional port.
_MATRIX_ID = re.compile(r"@(?P<local>[a-z0-9._=\-/+]+):(?P<server>[A-Za-z0-9.\-]+(?::\d{1,5})?)")
_POSTCODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z \-]{0,7}")


@dataclass(frozen=True)
class RowProblem:
    """Something about one line of the file, in plain words."""

    line: int
    matrix_id: str
    reason: str


@dataclass
class PersonRow:
    """One valid row: the Person fields it sets."""

    line: int
    role: str
    matrix_id: str
    display_name: str
    birth_year: int | None
    gender: str | None
    municipality: str | None
    postcode: str | None
    languages: list[str]
    interest_keys: list[str]
    interest_words: list[str]
    contact_modes: list[str]
    availability: list[str]
    capacity: int
    approval: str = "approved"

    def profile(self) -> dict[str, Any]:
        """The Person fields this row sets, by name."""
        return {
            "role": self.role,
            "display_name": self.display_name,
            "birth_year": self.birth_year,
            "gender": self.gender,
            "municipality": self.municipality,
            "postcode": self.postcode,
            "languages": list(self.languages),
            "interest_keys": list(self.interest_keys),
            "interest_words": list(self.interest_words),
            "contact_modes": list(self.contact_modes),
            "availability": list(self.availability),
            "capacity": self.capacity,
            "profile_complete": True,
        }


@dataclass
class ParsedFile:
    """What a file said: valid rows, rows with problems, and notes."""

    rows: list[PersonRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    notes: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did, for the operator."""

    file: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    notes: list[RowProblem] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Rows loaded (new, changed or already the same)."""
        return len(self.created) + len(self.updated) + len(self.unchanged)


# Checking one row ----------------------------------------------------------------------------


@cache
def language_codes() -> frozenset[str]:
    """Every ISO 639-1 code connec accepts."""
    codes = (str(code) for code in Locale("en").languages)
    return frozenset(code for code in codes if re.fullmatch(r"[a-z]{2}", code))


def matrix_id_problem(
    matrix_id: str, own_server: str, allowed_servers: Collection[str]
) -> str | None:
    """Why a Matrix ID cannot be used, or None if it can."""
    found = _MATRIX_ID.fullmatch(matrix_id)
    if found is None:
        if matrix_id.lower() != matrix_id and _MATRIX_ID.fullmatch(_lower_local(matrix_id)):
            return f"matrix_id {matrix_id!r} must be written in lower case"
        return f"matrix_id {matrix_id!r} is not a Matrix ID like @karen:{own_server}"
    server = found.group("server")
    if server != own_server and server not in allowed_servers:
        return (
            f"matrix_id {matrix_id!r} is on {server}, which is not this server "
            f"({own_server}) nor on the federation allow-list"
        )
    return None


def as_text(value: str) -> str:
    """A cell a spreadsheet shows as it is: a formula-like start gets a ``'`` in front."""
    return TEXT_MARK + value if value.startswith(FORMULA_STARTS) else value


def from_text(value: str) -> str:
    """A cell as :func:`as_text` wrote it, back to its value."""
    if value.startswith(TEXT_MARK) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _lower_local(matrix_id: str) -> str:
    local, _, server = matrix_id.partition(":")
    return f"{local.lower()}:{server}"


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def _check_list(
    column: str, value: str, allowed: Sequence[str], problems: list[str], *, example: str
) -> list[str]:
    chosen: list[str] = []
    for item in _items(value):
        if item.lower() in allowed:
            if item.lower() not in chosen:
                chosen.append(item.lower())
        else:
            problems.append(f"{column}: {item!r} is not one of {example}")
    return chosen


def parse_row(
    values: Mapping[str, str],
    line: int,
    *,
    own_server: str,
    allowed_servers: Collection[str],
    this_year: int,
    reserved: Mapping[str, str] | None = None,
) -> tuple[PersonRow | None, list[str], list[str]]:
    """One row of the file: the person it describes, its problems and its notes (pure).

    ``reserved``: Matrix IDs that are connec's own accounts, with what each is.
    """
    problems: list[str] = []
    notes: list[str] = []
    too_long = [
        column for column, value in values.items() if value is not None and len(value) > FIELD_MAX
    ]
    if too_long:
        columns = ", ".join(str(column) for column in too_long)
        return None, [f"{columns}: longer than {FIELD_MAX} characters"], notes

    def get(column: str) -> str:
        return from_text((values.get(column) or "").strip()).strip()

    role = get("role").lower()
    if role not in MATCHABLE_ROLES:
        problems.append(f"role {get('role')!r} is not citizen, volunteer or peer")
    matrix_id = get("matrix_id")
    if not matrix_id:
        problems.append("matrix_id is empty")
    elif reason := matrix_id_problem(matrix_id, own_server, allowed_servers):
        problems.append(reason)
    elif matrix_id in (reserved or {}):
        problems.append(f"{matrix_id} is {(reserved or {})[matrix_id]}, not a person")
    display_name = re.sub(r"\s+", " ", get("display_name"))
    if not display_name:
        problems.append("display_name is empty")
    elif len(display_name) > MAX_NAME:
        problems.append(f"display_name is longer than {MAX_NAME} characters")

    birth_year: int | None = None
    if get("birth_year"):
        if not re.fullmatch(r"\d{4}", get("birth_year")):
            problems.append(f"birth_year {get('birth_year')!r} is not a year like 1948")
        else:
            birth_year = int(get("birth_year"))
            if birth_year > this_year - VOLUNTEER_MIN_AGE:
                problems.append(
                    f"birth_year {birth_year}: people must be {VOLUNTEER_MIN_AGE} or older"
                )
            elif birth_year < this_year - OLDEST:
                problems.append(f"birth_year {birth_year} is too long ago")

    gender = get("gender").lower() or None
    if gender is not None and gender not in GENDERS:
        problems.append(f"gender {get('gender')!r} is not one of {', '.join(GENDERS)} (or empty)")

    municipality = get("municipality") or None
    if municipality and len(municipality) > MAX_MUNICIPALITY:
        problems.append(f"municipality is longer than {MAX_MUNICIPALITY} characters")
    postcode = get("postcode") or None
    if postcode and not _POSTCODE.fullmatch(postcode):
        problems.append(f"postcode {postcode!r} is not a postcode like 8000")

    languages = _check_list(
        "languages",
        get("languages"),
        sorted(language_codes()),
        problems,
        example="the ISO 639-1 codes (da, en, ar, ...)",
    )

    keys: list[str] = []
    words: list[str] = []
    for item in _items(get("interests")):
        found = interest_by_name(item)
        if found is not None:
            if found.key not in keys:
                keys.append(found.key)
        elif item not in words:
            words.append(item)
            notes.append(f"interest {item!r} is not in the list; kept in the person's own words")

    contact_modes = _check_list(
        "contact_modes", get("contact_modes"), CONTACT_MODES, problems, example="chat, voice, video"
    )
    slots = _check_list(
        "availability",
        get("availability"),
        SLOTS,
        problems,
        example="the slots mon-am ... sun-eve (am, pm, eve)",
    )
    availability = [slot for slot in SLOTS if slot in slots]

    approval = get("approval").lower() or "approved"
    if approval not in APPROVALS:
        problems.append(f"approval {get('approval')!r} is not approved, pending or rejected")
    elif approval != "approved" and role != "volunteer":
        problems.append("approval is only for volunteers; leave it empty for others")

    capacity = MIN_CAPACITY
    if get("capacity"):
        if (
            not get("capacity").isdecimal()
            or len(get("capacity")) > 2
            or not (MIN_CAPACITY <= int(get("capacity")) <= MAX_CAPACITY)
        ):
            problems.append(
                f"capacity {get('capacity')!r} is not a number from {MIN_CAPACITY} to "
                f"{MAX_CAPACITY}"
            )
        elif role != "volunteer" and int(get("capacity")) != 1:
            problems.append("capacity is only for volunteers; leave it empty for others")
        else:
            capacity = int(get("capacity"))

    if problems:
        return None, problems, notes
    row = PersonRow(
        line=line,
        role=role,
        matrix_id=matrix_id,
        display_name=display_name,
        birth_year=birth_year,
        gender=gender,
        municipality=municipality,
        postcode=postcode,
        languages=languages,
        interest_keys=keys,
        interest_words=words,
        contact_modes=contact_modes,
        availability=availability,
        capacity=capacity,
        approval=approval,
    )
    return row, [], notes


def parse_file(
    text: str,
    *,
    own_server: str,
    allowed_servers: Collection[str],
    this_year: int,
    reserved: Mapping[str, str] | None = None,
) -> ParsedFile:
    """Every row of a CSV text, checked; problems carry the line they are on (pure)."""
    parsed = ParsedFile()
    text = text.removeprefix("\ufeff")  # the byte-order mark spreadsheets write
    first = next((line for line in text.splitlines() if line.strip()), "")
    # A spreadsheet set to Danish saves with ";" between columns.
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 1
    seen: dict[str, int] = {}
    previous_end = 0
    for record in _records(reader, parsed):
        line, previous_end = previous_end + 1, reader.line_num
        if not any(value.strip() for value in record):
            continue
        if header is None:
            header = [value.strip().lower() for value in record]
            header_line = line
            missing = [column for column in REQUIRED_COLUMNS if column not in header]
            if missing:
                parsed.errors.append(
                    RowProblem(
                        line,
                        "",
                        f"the first line must name the columns ({', '.join(COLUMNS)}); "
                        f"missing: {', '.join(missing)}",
                    )
                )
                return parsed
            for column in header:
                if column not in COLUMNS:
                    parsed.notes.append(RowProblem(line, "", f"column {column!r} is not used"))
            continue
        if len(record) > len(header):
            parsed.errors.append(
                RowProblem(
                    line,
                    "",
                    f"{len(record)} fields but {len(header)} columns; "
                    f"put lists in one field with {LIST_SEPARATOR!r} between the items",
                )
            )
            continue
        values = dict(zip(header, record, strict=False))
        matrix_id = (values.get("matrix_id") or "").strip()
        if matrix_id in seen:
            parsed.errors.append(
                RowProblem(line, matrix_id, f"{matrix_id} is already on line {seen[matrix_id]}")
            )
            continue
        row, problems, notes = parse_row(
            values,
            line,
            own_server=own_server,
            allowed_servers=allowed_servers,
            this_year=this_year,
            reserved=reserved,
        )
        parsed.errors += [RowProblem(line, matrix_id, reason) for reason in problems]
        parsed.notes += [RowProblem(line, matrix_id, note) for note in notes]
        if row is not None:
            seen[matrix_id] = line
            parsed.rows.append(row)
    if header is None:
        parsed.errors.append(RowProblem(header_line, "", "the file is empty"))
    return parsed


def _records(reader: Any, parsed: ParsedFile) -> Iterator[list[str]]:
    """The reader's records; where the file cannot be read on, a problem says why in words."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            reason = (
                'a field is longer than 131072 characters: is a closing quotation mark (") '
                "missing before it?"
                if "field limit" in str(error)
                else f"the file cannot be read on here ({error})"
            )
            parsed.errors.append(
                RowProblem(
                    reader.line_num,
                    "",
                    f"{reason} Nothing from this line on was loaded; fix it and import the "
                    "file again (rows already loaded stay as they are).",
                )
            )
            return
        yield record


# Loading -----------------------------------------------------------------------------------------


async def load_rows(
    db: Database, rows: Iterable[PersonRow], *, now: datetime, language: str, file: str = ""
) -> ImportReport:
    """Create or update a person for each row, in one transaction. Rows naming staff are refused."""
    report = ImportReport(file=file)
    async with db.session() as session:
        for row in rows:
            person = await session.scalar(select(Person).where(Person.matrix_id == row.matrix_id))
            wanted = row.profile()
            if person is None:
                session.add(
                    Person(
                        matrix_id=row.matrix_id,
                        language=language,
                        state="active",
                        approval=row.approval,
                        approved_by=(
                            ACTOR
                            if row.role == "volunteer" and row.approval == "approved"
                            else None
                        ),
                        enrolled_by=ACTOR,
                        created_at=now,
                        **wanted,
                    )
                )
                report.created.append(row.matrix_id)
                continue
            if person.role not in MATCHABLE_ROLES:
                report.errors.append(
                    RowProblem(
                        row.line,
                        row.matrix_id,
                        f"{row.matrix_id} is a {person.role} in connec; staff are not imported",
                    )
                )
                continue
            changed = [name for name, value in wanted.items() if getattr(person, name) != value]
            for name in changed:
                setattr(person, name, wanted[name])
            (report.updated if changed else report.unchanged).append(row.matrix_id)
        if report.created or report.updated:
            session.add(
                AuditEntry(
                    actor=ACTOR,
                    action="people_imported",
                    subject=Path(file).name if file else None,
                    details={"created": len(report.created), "updated": len(report.updated)},
                    at=now,
                )
            )
    return report


def reserved_ids(settings: Settings) -> dict[str, str]:
    """connec's own accounts, which are never people: the bots and the server admin."""
    from connec.provision import ADMIN_LOCALPART, BOTS

    reserved = {
        settings.user_id(getattr(settings, bot).localpart): f"connec's {bot} bot" for bot in BOTS
    }
    reserved[settings.user_id(ADMIN_LOCALPART)] = "the server admin account connec uses"
    return reserved


def read_text(path: Path) -> str:
    """A CSV file as text; a file that is not UTF-8 is refused in words, with its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UnreadableFile(
            line,
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}). "
            "Save it as “CSV UTF-8” (in Excel: Save as, CSV UTF-8; in LibreOffice: "
            "character set Unicode (UTF-8)) and import it again. Nothing was loaded.",
        ) from None


class UnreadableFile(ValueError):
    """A file that cannot be read as CSV text at all; the message says why in words."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


async def import_file(settings: Settings, path: Path) -> ImportReport:
    """`connec people import FILE`: load the valid rows, report the others by line."""
    try:
        text = await asyncio.to_thread(read_text, path)
    except UnreadableFile as problem:
        return ImportReport(file=str(path), errors=[RowProblem(problem.line, "", problem.reason)])
    except OSError as error:
        reason = f"{path} cannot be read: {error.strerror or error}. Nothing was loaded."
        return ImportReport(file=str(path), errors=[RowProblem(0, "", reason)])
    now = datetime.now(UTC)
    parsed = parse_file(
        text,
        own_server=settings.synapse.server_name,
        allowed_servers=settings.synapse.federation_allowlist,
        this_year=now.year,
        reserved=reserved_ids(settings),
    )
    db = Database(settings.db_url)
    try:
        report = await load_rows(
            db, parsed.rows, now=now, language=settings.language, file=str(path)
        )
    finally:
        await db.close()
    report.errors = sorted(parsed.errors + report.errors, key=lambda p: p.line)
    report.notes = parsed.notes
    return report


def print_report(report: ImportReport, console: Console) -> None:
    """The import's outcome for the operator: counts, then each problem by line."""
    console.print(
        f"{report.file}: {len(report.created)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} already up to date."
    )
    if report.errors:
        table = Table("line", "matrix_id", "not loaded because", title="Rows with problems")
        for problem in report.errors:
            table.add_row(str(problem.line), problem.matrix_id, problem.reason)
        console.print(table)
        console.print("Fix these rows and import the file again; the other rows are loaded.")
    if report.notes:
        table = Table("line", "matrix_id", "note", title="Notes")
        for note in report.notes:
            table.add_row(str(note.line), note.matrix_id, note.reason)
        console.print(table)


# Export -----------------------------------------------------------------------------------------


def person_values(person: Person) -> list[str]:
    """A person as one CSV row, in ``COLUMNS`` order, every cell safe in a spreadsheet."""
    return [as_text(value) for value in _values_of(person)]


def _values_of(person: Person) -> list[str]:
    return [
        person.role,
        person.matrix_id,
        person.display_name or "",
        str(person.birth_year) if person.birth_year else "",
        person.gender or "",
        person.municipality or "",
        person.postcode or "",
        LIST_SEPARATOR.join(person.languages or []),
        LIST_SEPARATOR.join([*(person.interest_keys or []), *(person.interest_words or [])]),
        LIST_SEPARATOR.join(person.contact_modes or []),
        LIST_SEPARATOR.join(person.availability or []),
        str(person.capacity or MIN_CAPACITY) if person.role == "volunteer" else "",
        (person.approval or "approved") if person.role == "volunteer" else "",
    ]


def write_csv(people: Iterable[Person], out: TextIO) -> int:
    """Write the header and one row per person; the number of people written."""
    # Lines end in CR LF (RFC 4180): then the csv module quotes any cell holding a
    # CR or LF, which it does not for a lone CR when lines end in LF alone.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for person in people:
        writer.writerow(person_values(person))
        count += 1
    return count


async def export_file(settings: Settings, path: Path | None) -> int:
    """`connec people export [FILE]`: citizens, volunteers and peers, to a file or stdout."""
    db = Database(settings.db_url)
    try:
        async with db.session() as session:
            people = (
                await session.scalars(
                    select(Person).where(Person.role.in_(MATCHABLE_ROLES)).order_by(Person.id)
                )
            ).all()
    finally:
        await db.close()
    if path is None:
        return write_csv(people, sys.stdout)
    out = io.StringIO()
    count = write_csv(people, out)
    # Personal data: only connec's user may read the file.
    await asyncio.to_thread(write_private, path, out.getvalue())
    return count
