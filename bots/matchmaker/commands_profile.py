"""A person's own commands about their profile, in their direct room with the matchmaker.

``!profil`` shows the profile in words, ``!ret <del>`` changes one part (the same
questions as the intake, for that part only), ``!pause`` and ``!fortsæt`` stop and
start new proposals, ``!sprog`` switches between Danish and English, ``!tidszone``
sets the zone times are shown in (for people abroad).

In the middle of a dialogue, one of these words written without "!" is taken as
an answer ("sprog, historie" are interests), so nobody is thrown out of a question.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_time
from sqlalchemy import select

from bots.common.commands import Where, fold
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import intake
from bots.matchmaker import intake_steps as steps
from bots.matchmaker.table import COMMANDS
from connec.models import AuditEntry, Person
from connec.people import MATCHABLE_ROLES
from connec.timezones import zone_from_words

LANGUAGE_WORDS = {
    "da": frozenset(fold(w) for w in ("dansk", "danish", "da", "dk", "danske")),
    "en": frozenset(fold(w) for w in ("english", "engelsk", "en", "eng", "uk")),
}


async def _person(runtime: BotRuntime, matrix_id: str) -> Person | None:
    async with runtime.db.session() as session:
        return await session.scalar(select(Person).where(Person.matrix_id == matrix_id))


async def _profile_owner(ctx: MessageContext) -> Person | None:
    """The sender, if they have a profile to see or change; else answered, and None.

    A message that answers an open intake question is taken as that answer instead.
    """
    if await intake.answered_instead(ctx):
        return None
    person = await _person(ctx.runtime, ctx.sender)
    if person is None or person.role not in MATCHABLE_ROLES:
        await ctx.reply("profile_unknown.html", staff=person is not None)
        return None
    return person


def _matchable(person: Person | None) -> bool:
    return person is not None and person.role in MATCHABLE_ROLES and person.profile_complete


@COMMANDS.command(
    "profile",
    da=("profil",),
    en=("profile",),
    help="See what I know about you",
    where=Where.DIRECT,
)
async def show_profile(ctx: MessageContext) -> None:
    """``!profil``: the profile in words, and how to change it."""
    person = await _profile_owner(ctx)
    if person is None:
        return
    await ctx.reply(
        "profile_show.html",
        name=(person.display_name or "").split(" ")[0],
        lines=steps.profile_lines(steps.answers_of(person), person.role, ctx.lang),
        role=person.role,
        paused=person.state == "paused",
        pending=person.role == "volunteer" and person.approval == "pending",
        complete=person.profile_complete,
    )


@COMMANDS.command(
    "edit",
    da=("ret", "rette", "ændre"),
    en=("edit", "change"),
    help="Change one part of what you have told me",
    args="<part>",
    where=Where.DIRECT,
)
async def edit_profile(ctx: MessageContext) -> None:
    """``!ret``: the parts one can change; ``!ret tider``: change that part."""
    person = await _profile_owner(ctx)
    if person is None:
        return
    if await intake.has_open_intake(ctx.runtime, ctx.sender) or not person.profile_complete:
        await ctx.reply("profile_finish_intake.html")
        return
    part = steps.find_part(ctx.args, person.role) if ctx.args else None
    if part is None:
        parts = [
            {"word": steps.part_name(p, ctx.lang), "label": steps.part_label(p.key, ctx.lang)}
            for p in steps.parts_for(person.role)
        ]
        await ctx.reply("profile_parts.html", parts=parts, unknown=ctx.args or None)
        return
    await intake.begin_edit(ctx, part, person)


async def _set_state(ctx: MessageContext, state: str) -> Person | None:
    """Pause or resume matching for the sender; None if they have no profile to pause."""
    async with ctx.runtime.db.session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == ctx.sender))
        if not _matchable(person) or person is None or person.state == "ended":
            return person
        if person.state != state:
            person.state = state
            session.add(
                AuditEntry(
                    actor=ctx.sender,
                    action="person_paused" if state == "paused" else "person_resumed",
                    subject=ctx.sender,
                    details={"by": "self"},
                    person_id=person.id,
                    at=ctx.runtime.clock.now(),
                )
            )
        return person


async def _pause_or_resume(ctx: MessageContext, state: str) -> None:
    if await intake.answered_instead(ctx):
        return
    person = await _set_state(ctx, state)
    if person is None or not _matchable(person):
        staff = person is not None and person.role not in MATCHABLE_ROLES
        await ctx.reply("profile_unknown.html", staff=staff)
        return
    if person.state == "ended":
        await ctx.reply("profile_ended.html")
        return
    if state == "paused":
        await ctx.reply("profile_paused.html")
        return
    await ctx.reply(
        "profile_resumed.html", pending=person.role == "volunteer" and person.approval != "approved"
    )
    intake.request_matching(ctx.runtime, person.id)


@COMMANDS.command(
    "pause",
    da=("pause",),
    en=("pause",),
    help="Take a break: no new proposals until you write resume",
    where=Where.DIRECT,
)
async def pause(ctx: MessageContext) -> None:
    """``!pause``: no new proposals; friends and visit rooms stay as they are."""
    await _pause_or_resume(ctx, "paused")


@COMMANDS.command(
    "resume",
    da=("fortsæt",),
    en=("resume",),
    help="End your break: I look for proposals for you again",
    where=Where.DIRECT,
)
async def resume(ctx: MessageContext) -> None:
    """``!fortsæt``: proposals again after a break."""
    await _pause_or_resume(ctx, "active")


def language_from(word: str) -> str | None:
    """ "dansk"/"english" (or da/en) as a language connec speaks, else None."""
    folded = fold(word.strip(" .!"))
    return next((lang for lang, words in LANGUAGE_WORDS.items() if folded in words), None)


@COMMANDS.command(
    "language",
    da=("sprog",),
    en=("language",),
    help="Speak Danish or English with me",
    args="<dansk|english>",
    where=Where.DIRECT,
)
async def switch_language(ctx: MessageContext) -> None:
    """``!sprog english``: from now on, the bot writes to this person in English."""
    if await intake.answered_instead(ctx):
        return
    chosen = language_from(ctx.args) if ctx.args else None
    if chosen is None:
        await ctx.reply("profile_language.html", changed=False, unknown=ctx.args or None)
        return
    async with ctx.runtime.db.session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == ctx.sender))
        if person is not None:
            person.language = chosen
    open_state = await intake.open_state(ctx.runtime, ctx.sender)
    changed = steps.Message("profile_language.html", {"changed": True, "unknown": None})
    if person is None:
        # Someone new: the language is kept with their intake until they join.
        await intake.begin_intake(ctx, lang=chosen, before=[changed], welcome_back=False)
        return
    await ctx.runtime.send(
        ctx.room.room_id,
        changed.template,
        chosen,
        txn=txn_id(ctx.event.event_id, "language"),
        **changed.values,
    )
    if open_state is not None:
        question = steps.question(open_state, chosen)
        await ctx.runtime.send(
            ctx.room.room_id,
            question.template,
            chosen,
            txn=txn_id(ctx.event.event_id, "language", "question"),
            **question.values,
        )


async def on_start(runtime: BotRuntime) -> None:
    """Nothing runs in the background for profile commands."""


@COMMANDS.command(
    "timezone",
    da=("tidszone",),
    en=("timezone", "time-zone"),
    help="Your time zone, if you live abroad: times are shown on your own clock",
    args="[city or zone, e.g. Berlin]",
    where=Where.DIRECT,
)
async def set_timezone(ctx: MessageContext) -> None:
    """``!tidszone Berlin``: bookings, reminders and calendar files in this person's time."""
    if await intake.answered_instead(ctx):
        return
    async with ctx.runtime.db.session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == ctx.sender))
        if person is None:
            await ctx.reply("profile_unknown.html")
            return
        zone = zone_from_words(ctx.args) if ctx.args else None
        if ctx.args and zone is None:
            await ctx.reply("profile_timezone.html", unknown=ctx.args, zone=person.timezone)
            return
        if zone is not None:
            person.timezone = zone
        current = person.timezone
    local = ctx.runtime.clock.now().astimezone(ZoneInfo(current))
    await ctx.reply(
        "profile_timezone.html",
        unknown=None,
        changed=zone is not None,
        zone=current,
        local=format_time(local, "HH.mm", locale=ctx.lang),
    )
