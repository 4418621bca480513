"""After each visit, each person is asked privately how it went.

The check-in reminder fires a little after the visit ends and asks, in the
person's direct room, for a score from 1 to 5 and, if they like, a few words. A low
score (1–2) is raised with the coordinators at once. Words that sound worried are
raised too, but the words themselves are passed on only if the person says yes
when asked; otherwise the coordinators learn only that something may be wrong.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.scheduler import dialogue
from bots.scheduler.visit_room import VisitRoom, first_name, visit_room_of_match
from bots.scheduler.when_words import spell_out
from connec.i18n import normalise_language
from connec.models import Booking, CheckIn, Concern, Dialogue, Person, Reminder

LOW_SCORE = 2
# An unanswered check-in is asked again (after another conversation) for this long.
STILL_OPEN = timedelta(days=3)

# Word beginnings that make an answer sound worried (Danish and English). Reading
# vocabulary, not words anyone is shown; better to ask once too often than miss one.
WORRIED = (
    "alene", "angst", "bange", "bekymr", "deprim", "dårlig", "faldet", "faldt", "forvirr",
    "græd", "hjælp", "ked af", "ensom", "låne", "ondt", "penge", "smerte", "svimmel", "syg",
    "trist", "truet", "truede", "ubehag", "uhøflig", "utryg",
    "afraid", "alone", "anxious", "borrow", "confus", "cried", "crying", "depress", "dizzy",
    "fell", "fallen", "help", "hurt", "ill", "lonely", "money", "pain", "rude", "sad",
    "scared", "sick", "threat", "unpleasant", "unsafe", "upset", "worried", "worry",
)  # fmt: skip
_WORRIED = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in WORRIED) + ")", re.IGNORECASE)
_NUMBER_WORDS = {
    "en": 1, "én": 1, "et": 1, "one": 1, "to": 2, "two": 2, "tre": 3, "three": 3,
    "fire": 4, "four": 4, "fem": 5, "five": 5,
}  # fmt: skip
_LEADING = re.compile(r"^\s*([1-5])(?:\s*(?:/\s*5|ud af 5|out of 5))?(?![\d,.]\d)\b[\s,.:;!-]*")
_TRAILING = re.compile(r"[\s,.:;!-]*\b([1-5])(?:\s*(?:/\s*5|ud af 5|out of 5))?[\s.!]*$")

Say = Callable[..., Awaitable[str | None]]


def sounds_worried(words: str) -> bool:
    """Do these words sound like something a coordinator should hear about?"""
    return bool(_WORRIED.search(words))


def read_score(text: str) -> tuple[int | None, str]:
    """A score 1–5 at the start or end of an answer, and the words besides it.

    Only a number at either end counts, so "we talked for 2 hours" is not a score.
    """
    body = dialogue.plain(text)
    if body in _NUMBER_WORDS:
        return _NUMBER_WORDS[body], ""
    stripped = "\n".join(line for line in text.splitlines() if not line.startswith(">")).strip()
    for pattern in (_LEADING, _TRAILING):
        found = pattern.search(stripped)
        if found:
            rest = (stripped[: found.start()] + stripped[found.end() :]).strip(" ,.-:;")
            return int(found.group(1)), rest
    return None, ""


# --- Asking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """A check-in with what its questions need."""

    checkin: CheckIn
    person: Person
    other: Person
    booking: Booking
    room: VisitRoom

    @property
    def lang(self) -> str:
        return normalise_language(self.person.language)


async def _load(runtime: BotRuntime, checkin_id: int) -> Asked | None:
    async with runtime.db.session() as session:
        row = await session.get(CheckIn, checkin_id)
        if row is None:
            return None
        booking = await session.get(Booking, row.booking_id)
        room = await visit_room_of_match(session, booking.match_id) if booking else None
        person = await session.get(Person, row.person_id)
    if booking is None or room is None or person is None:
        return None
    return Asked(row, person, room.other(person), booking, room)


def _step(checkin: CheckIn) -> str:
    """Where a check-in stands, read from what is stored."""
    if checkin.score is None:
        return "score"
    if checkin.words is None:
        return "words"
    return "consent"


async def _ask_step(asked: Asked, step: str, say: Say, txn: str) -> str | None:
    values: dict[str, Any] = {
        "name": first_name(asked.person),
        "other": first_name(asked.other),
        "when": spell_out(asked.checkin.occurrence_at, asked.lang, asked.person.timezone),
    }
    return await say(f"checkin_{step}.html", txn, **values)


def _direct(runtime: BotRuntime, matrix_id: str) -> Say:
    async def say(template: str, txn: str, **values: Any) -> str | None:
        return await runtime.send_direct(matrix_id, template, txn=txn, **values)

    return say


def _reply(ctx: MessageContext) -> Say:
    async def say(template: str, txn: str, **values: Any) -> str | None:
        return await ctx.reply(template, **values)

    return say


async def ask(
    runtime: BotRuntime, reminder: Reminder, booking: Booking, room: VisitRoom
) -> tuple[bool, str | None]:
    """The check-in reminder's job: ask one person how the visit went.

    Answers (handled, event ID). A person in the middle of another conversation
    with the scheduler is not interrupted: the check-in is stored and asked when
    they are done (handled, no event yet).
    """
    person = next(p for p in room.people if p.id == reminder.person_id)
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        row = await session.scalar(
            select(CheckIn).where(
                CheckIn.booking_id == booking.id,
                CheckIn.occurrence_at == reminder.occurrence_at,
                CheckIn.person_id == person.id,
            )
        )
        if row is None:
            row = CheckIn(
                booking_id=booking.id,
                occurrence_at=reminder.occurrence_at,
                person_id=person.id,
                asked_at=now,
            )
            session.add(row)
            await session.flush()
        if row.answered_at is not None:
            return True, None
        talking = await dialogue.current(session, person.matrix_id)
        ours = talking is not None and talking.data.get("checkin_id") == row.id
        if not ours and dialogue.busy(talking, now):
            return True, None  # asked when the other conversation is done
        await dialogue.begin(
            session, person.matrix_id, dialogue.CHECKIN, "score", {"checkin_id": row.id}, now
        )
        checkin_id = row.id
    asked = await _load(runtime, checkin_id)
    if asked is None:
        return True, None
    txn = txn_id("reminder", str(reminder.id))
    # Posted is handled: it waits in the outbox if the person has no device just now.
    event_id = await _ask_step(asked, "score", _direct(runtime, person.matrix_id), txn)
    return True, event_id


async def open_checkin(runtime: BotRuntime, matrix_id: str) -> int | None:
    """The oldest check-in this person has not finished, if still worth asking."""
    since = runtime.clock.now() - STILL_OPEN
    async with runtime.db.session() as session:
        return await session.scalar(
            select(CheckIn.id)
            .join(Person, Person.id == CheckIn.person_id)
            .where(
                Person.matrix_id == matrix_id,
                CheckIn.answered_at.is_(None),
                CheckIn.asked_at >= since,
            )
            .order_by(CheckIn.asked_at)
            .limit(1)
        )


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """Someone signed in on a new device: the check-in they have not finished, again."""
    checkin_id = await open_checkin(runtime, matrix_id)
    asked = await _load(runtime, checkin_id) if checkin_id is not None else None
    if asked is None:
        return
    step = _step(asked.checkin)

    async def say(template: str, txn: str, **values: Any) -> str | None:
        return await runtime.send_direct(
            matrix_id, "asked_again.html", txn=txn, question=template, **values
        )

    await _ask_step(
        asked, step, say, txn_id("checkin-again", str(asked.checkin.id), step, *device_ids)
    )


async def continue_checkin(ctx: MessageContext, checkin_id: int) -> None:
    """Go on with a check-in that waited or was interrupted, in the person's direct room."""
    asked = await _load(ctx.runtime, checkin_id)
    if asked is None:
        return
    step = _step(asked.checkin)
    async with ctx.runtime.db.session() as session:
        await dialogue.begin(
            session,
            ctx.sender,
            dialogue.CHECKIN,
            step,
            {"checkin_id": checkin_id},
            ctx.runtime.clock.now(),
        )
    await _ask_step(asked, step, _reply(ctx), "")


# --- Answers ------------------------------------------------------------------------


async def _raise(runtime: BotRuntime, asked: Asked, kind: str, shared: str | None) -> None:
    """Tell the coordinators; a concern is stored with exactly what they were told."""
    if runtime.coordinators_room_id is None:
        return
    lang = runtime.settings.language
    values: dict[str, Any] = {
        "kind": kind,
        "number": asked.booking.visit_number,
        "name": first_name(asked.person),
        "other": first_name(asked.other),
        "when": spell_out(asked.checkin.occurrence_at, lang, runtime.settings.timezone),
        "score": asked.checkin.score,
        "words": shared,
    }
    body, _ = runtime.bot.messages.render("checkin_raised.html", lang, **values)
    await runtime.post(
        runtime.coordinators_room_id,
        "checkin_raised.html",
        lang,
        txn=txn_id("checkin-raised", str(asked.checkin.id), kind),
        readers=None,
        subjects=[p.matrix_id for p in asked.room.people],
        **values,
    )
    async with runtime.db.session() as session:
        session.add(
            Concern(
                reporter_id=asked.person.id,
                match_id=asked.room.match.id,
                text=body,
                source="checkin",
                created_at=runtime.clock.now(),
            )
        )
        row = await session.get(CheckIn, asked.checkin.id)
        if row is not None:
            row.raised = True


async def _save(runtime: BotRuntime, checkin_id: int, **values: Any) -> None:
    async with runtime.db.session() as session:
        row = await session.get(CheckIn, checkin_id)
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)


async def _step_to(ctx: MessageContext, step: str) -> None:
    async with ctx.runtime.db.session() as session:
        talking = await dialogue.current(session, ctx.sender)
        if talking is not None:
            talking.step, talking.updated_at = step, ctx.runtime.clock.now()


async def _done(ctx: MessageContext, asked: Asked, raised: bool) -> None:
    now = ctx.runtime.clock.now()
    await _save(ctx.runtime, asked.checkin.id, answered_at=now)
    async with ctx.runtime.db.session() as session:
        await dialogue.finish(session, ctx.sender)
    await ctx.reply("checkin_thanks.html", raised=raised, other=first_name(asked.other))


async def answer(ctx: MessageContext, talking: Dialogue) -> bool:
    """One answer in a check-in. Answers True when the check-in is finished."""
    checkin_id = talking.data.get("checkin_id")
    asked = await _load(ctx.runtime, checkin_id) if isinstance(checkin_id, int) else None
    if asked is None or asked.person.matrix_id != ctx.sender:
        async with ctx.runtime.db.session() as session:
            await dialogue.finish(session, ctx.sender)
        return True
    row = asked.checkin
    low = row.score is not None and row.score <= LOW_SCORE

    if talking.step == "score":
        score, words = read_score(ctx.body)
        if score is None:
            await _ask_step(asked, "again", _reply(ctx), "")
            return False
        await _save(ctx.runtime, row.id, score=score, words=words or None)
        asked = await _reload(ctx, asked)
        low = score <= LOW_SCORE
        if low and not asked.checkin.raised:
            await _raise(ctx.runtime, asked, "score", None)
        if not words:
            await _step_to(ctx, "words")
            await _ask_step(asked, "words", _reply(ctx), "")
            return False
        return await _after_words(ctx, asked, words, low)

    if talking.step == "words":
        words = "" if dialogue.is_no(ctx.body) else ctx.body.strip()
        await _save(ctx.runtime, row.id, words=words)
        return await _after_words(ctx, await _reload(ctx, asked), words, low)

    # The consent step: may the words be passed on?
    if dialogue.is_yes(ctx.body):
        share = True
    elif dialogue.is_no(ctx.body):
        share = False
    else:
        await _ask_step(asked, "consent", _reply(ctx), "")
        return False
    await _save(ctx.runtime, row.id, share_words=share)
    kind = "words" if row.raised else "worried"
    if share or not row.raised:
        await _raise(ctx.runtime, asked, kind, row.words if share else None)
    await _done(ctx, asked, raised=True)
    return True


async def _reload(ctx: MessageContext, asked: Asked) -> Asked:
    return await _load(ctx.runtime, asked.checkin.id) or asked


async def _after_words(ctx: MessageContext, asked: Asked, words: str, low: bool) -> bool:
    if words and (low or sounds_worried(words)):
        await _step_to(ctx, "consent")
        await _ask_step(asked, "consent", _reply(ctx), "")
        return False
    await _done(ctx, asked, raised=asked.checkin.raised)
    return True
