"""Wellbeing: the three-item UCLA loneliness scale, asked privately, reported in aggregate.

The scale (Hughes et al. 2004) asks how often one lacks companionship, feels left
out and feels isolated from others; each answer is 1 "Næsten aldrig" / "Hardly ever",
2 "Nogle gange" / "Some of the time" or 3 "Ofte" / "Often", so a total is 3–9.
It is asked, in the person's direct room, the first time a citizen or peer citizen is
in an active match and again every ``wellbeing_every_days``. Volunteers are not
asked: the service measures the loneliness of the people it is for, and keeps no
more personal data than that needs.

Coordinators see aggregate figures only (``!trivsel`` / ``!wellbeing``): how many
people, the mean total and the distribution of totals, for everyone and per role,
plus the change from each person's first answer to their latest. A group of fewer
than five people shows no figures, so nobody can be recognised.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import func, select

from bots.common.commands import Permission, Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.scheduler import dialogue
from bots.scheduler.table import COMMANDS
from connec.i18n import normalise_language
from connec.models import (
    Circle,
    CircleMember,
    Dialogue,
    Match,
    Person,
    WellbeingAnswer,
    real_person,
)

log = logging.getLogger(__name__)

ITEMS = ("companionship", "left_out", "isolated")
ASKED_ROLES = ("citizen", "peer")
SMALLEST_GROUP = 5
TOTALS = range(3, 10)
# An unfinished set of answers is taken up again (after another conversation) this long.
STILL_OPEN = timedelta(days=14)

_ANSWER_WORDS = {
    "næsten aldrig": 1, "naesten aldrig": 1, "aldrig": 1, "hardly ever": 1, "never": 1,
    "nogle gange": 2, "af og til": 2, "somme tider": 2, "some of the time": 2,
    "sometimes": 2, "ofte": 3, "tit": 3, "often": 3,
}  # fmt: skip
_LEADING_DIGIT = re.compile(r"^\s*([1-3])\b")


def read_answer(text: str) -> int | None:
    """1, 2 or 3 from a digit or the answer's own words; None if neither."""
    found = _LEADING_DIGIT.match(text)
    if found:
        return int(found.group(1))
    return _ANSWER_WORDS.get(dialogue.plain(text))


# --- Aggregates (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Figures for one group of people; ``shown`` is False when the group is too small."""

    label: str
    count: int
    mean: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return self.count >= SMALLEST_GROUP


@dataclass(frozen=True)
class Change:
    """From each person's first complete answer to their latest (people with two or more)."""

    count: int
    first_mean: float | None = None
    latest_mean: float | None = None

    @property
    def shown(self) -> bool:
        return self.count >= SMALLEST_GROUP


@dataclass(frozen=True)
class Answered:
    """One complete answer: whose (by id only, never shown), their role, when, the total."""

    person_id: int
    role: str
    answered_at: datetime
    total: int


def _group(label: str, totals: Sequence[int]) -> Group:
    if len(totals) < SMALLEST_GROUP:
        return Group(label, len(totals))
    counts = Counter(totals)
    return Group(
        label,
        len(totals),
        sum(totals) / len(totals),
        {total: counts.get(total, 0) for total in TOTALS},
    )


def summarise(answers: Iterable[Answered]) -> tuple[list[Group], Change]:
    """Everyone's latest total, per group, and the change since their first answer."""
    by_person: dict[int, list[Answered]] = {}
    for answer in sorted(answers, key=lambda a: a.answered_at):
        by_person.setdefault(answer.person_id, []).append(answer)
    latest = [history[-1] for history in by_person.values()]
    groups = [_group("all", [a.total for a in latest])]
    for role in ASKED_ROLES:
        groups.append(_group(role, [a.total for a in latest if a.role == role]))
    twice = [history for history in by_person.values() if len(history) >= 2]
    if len(twice) < SMALLEST_GROUP:
        return groups, Change(len(twice))
    first = sum(h[0].total for h in twice) / len(twice)
    last = sum(h[-1].total for h in twice) / len(twice)
    return groups, Change(len(twice), first, last)


# --- Asking -----------------------------------------------------------------------------


def _next_item(row: WellbeingAnswer) -> str | None:
    return next((item for item in ITEMS if getattr(row, item) is None), None)


async def _ask_item(
    runtime: BotRuntime,
    row: WellbeingAnswer,
    matrix_id: str,
    *,
    ctx: MessageContext | None = None,
    again: list[str] | None = None,
) -> str | None:
    """The next question of a set; the first comes with a short explanation.

    ``again``: the new devices it is asked again for (their keys cannot open it).
    """
    item = _next_item(row)
    if item is None:
        return None
    values: dict[str, Any] = {
        "item": item,
        "number": ITEMS.index(item) + 1,
        "first": item == ITEMS[0],
    }
    if ctx is not None:
        return await ctx.reply("wellbeing_question.html", **values)
    if again:
        return await runtime.send_direct(
            matrix_id,
            "asked_again.html",
            txn=txn_id("wellbeing-again", str(row.id), item, *again),
            question="wellbeing_question.html",
            **values,
        )
    return await runtime.send_direct(
        matrix_id,
        "wellbeing_question.html",
        txn=txn_id("wellbeing", str(row.id), item),
        **values,
    )


async def due_people(runtime: BotRuntime) -> list[tuple[int, str]]:
    """Citizens and peers in an active match or circle not asked within
    ``wellbeing_every_days``."""
    since = runtime.clock.now() - timedelta(days=runtime.settings.visits.wellbeing_every_days)
    async with runtime.db.session() as session:
        in_match = (
            await session.execute(select(Match.a_id, Match.b_id).where(Match.state == "introduced"))
        ).all()
        in_circle = (
            await session.scalars(
                select(CircleMember.person_id)
                .join(Circle, Circle.id == CircleMember.circle_id)
                .where(Circle.state == "introduced", CircleMember.state == "yes")
            )
        ).all()
        ids = {pid for row in in_match for pid in row} | set(in_circle)
        if not ids:
            return []
        last_asked = dict(
            (
                await session.execute(
                    select(WellbeingAnswer.person_id, func.max(WellbeingAnswer.asked_at))
                    .where(WellbeingAnswer.person_id.in_(ids))
                    .group_by(WellbeingAnswer.person_id)
                )
            ).all()
        )
        people = (
            await session.execute(
                select(Person.id, Person.matrix_id).where(
                    Person.id.in_(ids),
                    Person.role.in_(ASKED_ROLES),
                    Person.state == "active",
                    real_person(),
                )
            )
        ).all()
    return [
        (pid, matrix_id)
        for pid, matrix_id in people
        if last_asked.get(pid) is None or last_asked[pid] < since
    ]


async def ask(runtime: BotRuntime, person_id: int, matrix_id: str) -> None:
    """Start a set of questions for one person (unless they are busy answering another)."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        row = WellbeingAnswer(person_id=person_id, asked_at=now)
        session.add(row)
        await session.flush()
        talking = await dialogue.current(session, matrix_id)
        if dialogue.busy(talking, now):
            return  # asked when the other conversation is done
        await dialogue.begin(
            session, matrix_id, dialogue.WELLBEING, ITEMS[0], {"answer_id": row.id}, now
        )
    await _ask_item(runtime, row, matrix_id)


async def check(runtime: BotRuntime) -> None:
    """The periodic care job: ask everyone whose time has come."""
    for person_id, matrix_id in await due_people(runtime):
        try:
            await ask(runtime, person_id, matrix_id)
        except Exception:
            log.exception("wellbeing question failed", extra={"bot": "scheduler"})


async def open_answer(runtime: BotRuntime, matrix_id: str) -> int | None:
    """The newest unfinished set of answers, if still worth going on with."""
    since = runtime.clock.now() - STILL_OPEN
    async with runtime.db.session() as session:
        return await session.scalar(
            select(WellbeingAnswer.id)
            .join(Person, Person.id == WellbeingAnswer.person_id)
            .where(
                Person.matrix_id == matrix_id,
                WellbeingAnswer.answered_at.is_(None),
                WellbeingAnswer.asked_at >= since,
            )
            .order_by(WellbeingAnswer.asked_at.desc())
            .limit(1)
        )


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """Someone signed in on a new device mid-set: the question they are on, again."""
    answer_id = await open_answer(runtime, matrix_id)
    async with runtime.db.session() as session:
        row = await session.get(WellbeingAnswer, answer_id) if answer_id is not None else None
    if row is not None:
        await _ask_item(runtime, row, matrix_id, again=device_ids)


async def continue_answer(ctx: MessageContext, answer_id: int) -> None:
    """Go on with a set that waited or was interrupted, in the person's direct room."""
    async with ctx.runtime.db.session() as session:
        row = await session.get(WellbeingAnswer, answer_id)
        if row is None or _next_item(row) is None:
            return
        await dialogue.begin(
            session,
            ctx.sender,
            dialogue.WELLBEING,
            _next_item(row) or ITEMS[0],
            {"answer_id": answer_id},
            ctx.runtime.clock.now(),
        )
    await _ask_item(ctx.runtime, row, ctx.sender, ctx=ctx)


async def answer(ctx: MessageContext, talking: Dialogue) -> bool:
    """One answer to the scale. Answers True when the set is complete."""
    answer_id = talking.data.get("answer_id")
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        row = await session.get(WellbeingAnswer, answer_id) if isinstance(answer_id, int) else None
        item = _next_item(row) if row is not None else None
        if row is None or item is None:
            await dialogue.finish(session, ctx.sender)
            return True
        value = read_answer(ctx.body)
        if value is not None:
            setattr(row, item, value)
            item = _next_item(row)
            if item is None:
                row.answered_at = now
                await dialogue.finish(session, ctx.sender)
            else:
                talking_row = await dialogue.current(session, ctx.sender)
                if talking_row is not None:
                    talking_row.step, talking_row.updated_at = item, now
    if value is None:
        await ctx.reply("wellbeing_again.html")
        await _ask_item(ctx.runtime, row, ctx.sender, ctx=ctx)
        return False
    if item is None:
        await ctx.reply("wellbeing_thanks.html")
        return True
    await _ask_item(ctx.runtime, row, ctx.sender, ctx=ctx)
    return False


# --- !trivsel / !wellbeing ----------------------------------------------------------


async def complete_answers(runtime: BotRuntime) -> list[Answered]:
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(WellbeingAnswer, Person.role)
                .join(Person, Person.id == WellbeingAnswer.person_id)
                .where(WellbeingAnswer.answered_at.is_not(None))
            )
        ).all()
    return [
        Answered(row.person_id, role, row.answered_at, row.total)
        for row, role in rows
        if row.total is not None and row.answered_at is not None
    ]


def _number(value: float | None, lang: str) -> str:
    return "" if value is None else format_decimal(round(value, 1), "0.0", locale=lang)


@COMMANDS.command(
    "wellbeing",
    da=("trivsel",),
    en=("wellbeing",),
    help="Wellbeing figures (the UCLA loneliness scale), for groups of five or more",
    permission=Permission.COORDINATOR,
    where=Where.COORDINATORS_ROOM,
)
async def wellbeing_command(ctx: MessageContext) -> None:
    lang = normalise_language(ctx.lang)
    groups, change = summarise(await complete_answers(ctx.runtime))
    await ctx.reply(
        "wellbeing_summary.html",
        smallest=SMALLEST_GROUP,
        groups=[
            {
                "label": g.label,
                "count": g.count,
                "shown": g.shown,
                "mean": _number(g.mean, lang),
                "distribution": [(total, g.distribution.get(total, 0)) for total in TOTALS],
            }
            for g in groups
        ],
        change={
            "count": change.count,
            "shown": change.shown,
            "first": _number(change.first_mean, lang),
            "latest": _number(change.latest_mean, lang),
        },
    )
