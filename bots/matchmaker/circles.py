"""Circles: small interest groups with a host, from forming to their own room.

- **Wishes.** In their direct room a person asks to be in a circle (`cirkel`) or
  offers to host one (`vært Kolonihaven`); a citizen waiting for a friend is
  offered a circle meanwhile without asking.
- **Forming** (:mod:`bots.matchmaker.circle_forming`) runs off the event loop and
  stores each circle with its host and members, all ``asked``.
- **Asking.** Each is asked privately in their direct room, through the outbox (the
  question waits for a first device). ``ja``/``nej`` or 👍/👎 answer it, as with a
  proposal; nobody is told who said no. The host and two members saying yes make
  the circle ``ready``, in the same transaction as the second yes.
- **The room.** The same recorded steps as a visit room (``rooms.py``): a token
  stored before the room exists and carried in its state, so a crash finds the
  room again; private, encrypted, invite-only, both bots in it. Everyone who said
  yes is invited, also those whose yes comes later, and the circle is welcomed.
- **Leaving** is one word (`forlad`/`leave`) in the circle or the direct room; a
  host who leaves hands the circle to the member who said yes first, and the host
  can hand it to anyone with `!overdrag @person`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import nio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import intake, jobs, rooms
from bots.matchmaker.circle_forming import FormedCircle, Host, form_circles, topic_name
from bots.matchmaker.intake_steps import describe_availability
from bots.matchmaker.matching import LIVE_MATCH_STATES
from bots.matchmaker.profiles import first_name, to_profile
from bots.matchmaker.proposals import answer_reaction, answer_word
from bots.matchmaker.scoring import interest_weights
from bots.matchmaker.table import COMMANDS
from connec.i18n import normalise_language
from connec.interests import interests_from_keys, understand_interests
from connec.models import AuditEntry, Circle, CircleMember, CircleWish, Match, Person

log = logging.getLogger(__name__)

REF = "circle"
MARKER = "io.connec.circle"
ASKING, READY, ROOM_CREATED, INVITED, INTRODUCED = (
    "asking",
    "ready",
    "room_created",
    "invited",
    "introduced",
)
LAPSED, CLOSED = "lapsed", "closed"
OPEN = (ASKING, READY, ROOM_CREATED, INVITED, INTRODUCED)
UNFINISHED = (READY, ROOM_CREATED, INVITED)
HOST, MEMBER = "host", "member"
ASKED, YES, NO, LEFT = "asked", "yes", "no", "left"
MEMBERS_NEEDED = 2  # besides the host, for the room to be made
# Someone who said no to a circle is not asked into another for this long.
RESTING_AFTER_NO = timedelta(days=30)
MATCHABLE = ("citizen", "peer")
# A forming round keeps within this (greedy first, CP-SAT in what is left).
FORMING_BUDGET_S = 50.0


# Wishes ----------------------------------------------------------------------------------


async def _me(session: AsyncSession, matrix_id: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.matrix_id == matrix_id))


@COMMANDS.command(
    "circle",
    da=("cirkel",),
    en=("circle", "group"),
    help="Ask to be in a small circle of people who share an interest",
    where=Where.DIRECT,
)
async def wish_command(ctx: MessageContext) -> None:
    await _wish(ctx, "member", "")


@COMMANDS.command(
    "host",
    da=("vært", "vaert"),
    en=("host",),
    help="Offer to host a circle about something you know, e.g. “host Allotment gardens”",
    args="<topic>",
    where=Where.DIRECT,
)
async def host_command(ctx: MessageContext) -> None:
    await _wish(ctx, "host", ctx.args)


async def _wish(ctx: MessageContext, kind: str, topic: str) -> None:
    # In the middle of the intake "cirkel" may be an answer (an interest), not a wish.
    if await intake.answered_instead(ctx):
        return
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        me = await _me(session, ctx.sender)
        if me is None or me.role not in ("citizen", "peer", "volunteer") or not me.profile_complete:
            await ctx.reply("circle_wish_first_profile.html")
            return
        if kind == "member" and me.role == "volunteer":
            kind = "host"  # volunteers lead circles; their interests are the topic
        known = await session.scalar(
            select(CircleWish).where(
                CircleWish.person_id == me.id, CircleWish.kind == kind, CircleWish.state == "open"
            )
        )
        if known is None:
            session.add(
                CircleWish(
                    person_id=me.id, kind=kind, topic=topic.strip()[:128],
                    created_at=runtime.clock.now(),
                )
            )  # fmt: skip
        elif topic.strip():
            known.topic = topic.strip()[:128]
    await ctx.reply("circle_wish_noted.html", kind=kind, topic=topic.strip())
    runtime.wake(jobs.CIRCLE_FORMING)


# Forming ---------------------------------------------------------------------------------


@dataclass
class FormingInput:
    """Who may be asked into a circle now, read from the tables: plain data."""

    members: list[Any]
    hosts: list[Host]
    people: list[Any]
    wishes: list[int]


async def _busy_in_circles(session: AsyncSession, now: datetime) -> set[int]:
    """People in an open circle, or resting after saying no to one."""
    rows = (
        await session.execute(
            select(CircleMember.person_id, CircleMember.state, Circle.state, Circle.created_at)
            .join(Circle, Circle.id == CircleMember.circle_id)
            .where(Circle.state.in_(OPEN) | (Circle.created_at > now - RESTING_AFTER_NO))
        )
    ).all()
    return {
        pid
        for pid, member_state, circle_state, created in rows
        if (circle_state in OPEN and member_state in (ASKED, YES))
        or (member_state == NO and created > now - RESTING_AFTER_NO)
    }


def host_of(person: Person, topic_words: str, lang: str) -> Host | None:
    """A host for forming: the topic is their own words, else their first interest."""
    profile = to_profile(person)
    topic = understand_interests([topic_words]) if topic_words.strip() else None
    if not topic:
        keys = sorted(profile.interests.keys)
        topic = interests_from_keys(keys[:1]) if keys else profile.interests
    if not topic:
        return None
    language = normalise_language(person.language)
    if language not in profile.languages:
        language = "da" if "da" in profile.languages else min(profile.languages)
    return Host(profile, topic, topic_name(topic, topic_words, lang), language)


async def read_input(session: AsyncSession, now: datetime, lang: str) -> FormingInput:
    people = (
        await session.scalars(
            select(Person).where(Person.state == "active", Person.profile_complete.is_(True))
        )
    ).all()
    busy = await _busy_in_circles(session, now)
    in_friendship = {
        pid
        for a, b in (
            await session.execute(
                select(Match.a_id, Match.b_id).where(Match.state.in_(LIVE_MATCH_STATES))
            )
        ).all()
        for pid in (a, b)
    }
    wishes = (await session.scalars(select(CircleWish).where(CircleWish.state == "open"))).all()
    by_id = {p.id: p for p in people}
    host_ids: set[int] = set()
    hosts = []
    for wish in wishes:
        person = by_id.get(wish.person_id)
        if wish.kind != "host" or person is None or person.id in busy or person.id in host_ids:
            continue
        if person.role == "volunteer" and person.approval != "approved":
            continue
        host = host_of(person, wish.topic, lang)
        if host is not None:
            hosts.append(host)
            host_ids.add(person.id)
    asked_for = {w.person_id for w in wishes if w.kind == "member"}
    members = [
        to_profile(p)
        for p in people
        if p.role in MATCHABLE
        and p.id not in busy
        and p.id not in host_ids
        # Waiting for a friend, or asked for a group (also beside a friendship).
        and (p.id not in in_friendship or p.id in asked_for)
    ]
    return FormingInput(members, hosts, [to_profile(p) for p in people], [w.id for w in wishes])


def _solve(data: FormingInput, year: int) -> Sequence[FormedCircle]:
    weights = interest_weights(data.people)
    return form_circles(
        data.members, data.hosts, weights, year=year, budget_s=FORMING_BUDGET_S
    ).circles


async def store(
    session: AsyncSession,
    formed: Sequence[FormedCircle],
    now: datetime,
    *,
    source: str = "forming",
    by: str | None = None,
) -> list[Circle]:
    """The circles as rows, everyone in them asked; the wishes they answer are used."""
    made = []
    for found in formed:
        circle = Circle(
            topic=found.topic_name,
            language=found.language,
            slot=found.slot,
            score=found.value,
            source=source,
            state=ASKING,
            created_by=by,
            created_at=now,
        )
        session.add(circle)
        await session.flush()
        session.add(
            CircleMember(circle_id=circle.id, person_id=found.host_id, role=HOST, asked_at=now)
        )
        for person_id in found.member_ids:
            session.add(
                CircleMember(circle_id=circle.id, person_id=person_id, role=MEMBER, asked_at=now)
            )
        placed = [found.host_id, *found.member_ids]
        for wish in (
            await session.scalars(
                select(CircleWish).where(
                    CircleWish.person_id.in_(placed), CircleWish.state == "open"
                )
            )
        ).all():
            wish.state = "used"
        session.add(
            AuditEntry(
                actor=by or "matchmaker",
                action="circle_formed",
                subject=str(circle.id),
                at=now,
                details={"members": len(found.member_ids), "source": source},
            )
        )
        made.append(circle)
    return made


async def form_now(runtime: BotRuntime) -> list[Circle]:
    """A forming round: read, solve in a worker thread, store; the questions follow."""
    now = runtime.clock.now()
    lang = runtime.settings.language
    async with runtime.db.session() as session:
        data = await read_input(session, now, lang)
    if not data.hosts or len(data.members) < MEMBERS_NEEDED:
        return []
    # Heavy work off the event loop: people keep getting answers meanwhile.
    formed = await asyncio.to_thread(_solve, data, now.year)
    async with runtime.db.session() as session:
        made = await store(session, formed, now)
    if made:
        log.info("circles formed", extra={"bot": "matchmaker", "circles": len(made)})
    return made


# Asking ----------------------------------------------------------------------------------


def ref(circle_id: int, person_id: int) -> str:
    return f"{REF}:{circle_id}:{person_id}"


async def record_question(session: AsyncSession, ref_: str, event_id: str) -> None:
    """The question went out: its answer is awaited (set once)."""
    _, circle_id, person_id = ref_.split(":")
    member = await session.scalar(
        select(CircleMember).where(
            CircleMember.circle_id == int(circle_id), CircleMember.person_id == int(person_id)
        )
    )
    if member is not None and member.event_id is None:
        member.event_id = event_id


async def _people(session: AsyncSession, circle_id: int) -> list[tuple[CircleMember, Person]]:
    return [
        (m, p)
        for m, p in (
            await session.execute(
                select(CircleMember, Person)
                .join(Person, Person.id == CircleMember.person_id)
                .where(CircleMember.circle_id == circle_id)
                .order_by(CircleMember.role, CircleMember.id)
            )
        ).all()
    ]


def _host(people: list[tuple[CircleMember, Person]]) -> Person | None:
    return next((p for m, p in people if m.role == HOST and m.state != LEFT), None)


async def _ask(
    runtime: BotRuntime,
    circle: Circle,
    member: CircleMember,
    person: Person,
    people: list[tuple[CircleMember, Person]],
    *,
    kind: str = "circle",
    txn: str | None = None,
) -> None:
    host = _host(people)
    others = sum(1 for m, _ in people if m.role == MEMBER and m.person_id != person.id)
    lang = await runtime.language_of(person.matrix_id)
    await runtime.send_direct(
        person.matrix_id,
        "circle_question.html" if kind != "circle-again" else "asked_again.html",
        txn=txn or txn_id(kind, str(circle.id), str(person.id)),
        ref=ref(circle.id, person.id),
        subjects=[host.matrix_id] if host is not None else [],
        question="circle_question.html",
        topic=circle.topic,
        hosting=member.role == HOST,
        host=first_name(host) if host is not None else "",
        others=others,
        when=describe_availability([circle.slot], lang) if circle.slot else None,
    )


async def deliver_once(runtime: BotRuntime) -> None:
    """Ask whoever has not been asked yet; let circles that waited too long lapse."""
    now = runtime.clock.now()
    expire = timedelta(hours=runtime.settings.matching.expire_after_hours)
    async with runtime.db.session() as session:
        circles = (
            await session.scalars(select(Circle).where(Circle.state == ASKING).order_by(Circle.id))
        ).all()
        everyone = {c.id: await _people(session, c.id) for c in circles}
    for circle in circles:
        people = everyone[circle.id]
        if now >= circle.created_at + expire:
            await _lapse(runtime, circle, people, now)
            continue
        for member, person in people:
            if member.state == ASKED and member.event_id is None:
                await _ask(runtime, circle, member, person, people)


async def _lapse(
    runtime: BotRuntime, circle: Circle, people: list[tuple[CircleMember, Person]], now: datetime
) -> None:
    async with runtime.db.session() as session:
        row = await session.get(Circle, circle.id, with_for_update=True)
        if row is None or row.state != ASKING:
            return
        row.state, row.closed_at = LAPSED, now
    await runtime.outbox.cancel([ref(circle.id, p.id) for _, p in people])
    # Only those who said yes are told; nobody learns who did not answer.
    for member, person in people:
        if member.state == YES:
            await runtime.send_direct(
                person.matrix_id,
                "circle_off.html",
                txn=txn_id("circle-lapsed", str(circle.id), str(person.id)),
                topic=circle.topic,
            )


async def _open_question(
    runtime: BotRuntime, matrix_id: str
) -> tuple[CircleMember, Circle, Person] | None:
    """The newest circle question asked of this person and not yet answered."""
    async with runtime.db.session() as session:
        me = await _me(session, matrix_id)
        if me is None:
            return None
        found = (
            await session.execute(
                select(CircleMember, Circle)
                .join(Circle, Circle.id == CircleMember.circle_id)
                .where(
                    CircleMember.person_id == me.id,
                    CircleMember.state == ASKED,
                    CircleMember.event_id.is_not(None),
                    Circle.state.in_(OPEN),
                )
                .order_by(CircleMember.id.desc())
            )
        ).first()
    return (found[0], found[1], me) if found else None


async def on_text(ctx: MessageContext) -> bool:
    """A yes or no in the direct room, to the circle question waiting for this person."""
    if ctx.where is not Where.DIRECT:
        return False
    answer = answer_word(ctx.body)
    if answer is None:
        return False
    found = await _open_question(ctx.runtime, ctx.sender)
    if found is None:
        return False
    member = found[0]
    await record_answer(ctx.runtime, member.id, answer, reply=ctx.reply)
    return True


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """👍 or 👎 on the question (or on it asked again on a new device)."""
    answer = answer_reaction(event.key)
    if answer is None:
        return False
    found = await runtime.outbox.ref_of(event.reacts_to)
    if found is None or not found.startswith(f"{REF}:"):
        async with runtime.db.session() as session:
            member = await session.scalar(
                select(CircleMember).where(CircleMember.event_id == event.reacts_to)
            )
    else:
        _, circle_id, person_id = found.split(":")
        async with runtime.db.session() as session:
            member = await session.scalar(
                select(CircleMember).where(
                    CircleMember.circle_id == int(circle_id),
                    CircleMember.person_id == int(person_id),
                )
            )
    if member is None:
        return False
    async with runtime.db.session() as session:
        person = await session.get(Person, member.person_id)
    if person is None or person.matrix_id != event.sender:
        return False
    ctx = await runtime.context_for(room, event)
    await record_answer(runtime, member.id, answer, reply=ctx.reply)
    return True


def ready(people: Sequence[tuple[str, str]]) -> bool:
    """Whether a circle may have its room: the host and two members said yes.

    ``people`` are (role, state) pairs."""
    host = any(role == HOST and state == YES for role, state in people)
    members = sum(1 for role, state in people if role == MEMBER and state == YES)
    return host and members >= MEMBERS_NEEDED


def possible(people: Sequence[tuple[str, str]]) -> bool:
    """Whether a circle still asking can come together: the host has not said no, and
    enough members have said yes or not yet answered."""
    host_no = any(role == HOST and state == NO for role, state in people)
    open_members = sum(1 for role, state in people if role == MEMBER and state in (ASKED, YES))
    return not host_no and open_members >= MEMBERS_NEEDED


async def record_answer(runtime: BotRuntime, member_id: int, answer: str, *, reply: Any) -> None:
    """Store one answer; the yes that completes host and two members makes it ready."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        member = await session.get(CircleMember, member_id, with_for_update=True)
        circle = await session.get(Circle, member.circle_id) if member else None
        if member is None or circle is None or circle.state not in OPEN or member.state != ASKED:
            await reply("circle_closed.html")
            return
        member.state, member.answered_at = answer, now
        await session.flush()
        states = (
            await session.execute(
                select(CircleMember.role, CircleMember.state).where(
                    CircleMember.circle_id == circle.id
                )
            )
        ).all()
        if circle.state == ASKING and ready([(r, s) for r, s in states]):
            # Ready in the same transaction as the yes that makes it so: never twice.
            circle.state = READY
        state, topic = circle.state, circle.topic
    if answer == NO:
        await reply("circle_no_thanks.html")
        if state == ASKING and not possible([(r, s) for r, s in states]):
            # It can no longer come together: let the others go now, not at expiry.
            async with runtime.db.session() as session:
                row = await session.get(Circle, member.circle_id)
                people = await _people(session, member.circle_id)
            if row is not None:
                await _lapse(runtime, row, people, now)
        return
    await reply("circle_yes.html", topic=topic, ready=state != ASKING)
    if state != ASKING:
        runtime.wake(jobs.CIRCLE_ROOMS)


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """A new device: the circle question still open for them, asked again there."""
    found = await _open_question(runtime, matrix_id)
    if found is None:
        return
    member, circle, person = found
    async with runtime.db.session() as session:
        people = await _people(session, circle.id)
    await _ask(
        runtime,
        circle,
        member,
        person,
        people,
        kind="circle-again",
        txn=txn_id("circle-again", str(circle.id), str(person.id), *device_ids),
    )


# The room ----------------------------------------------------------------------------------


async def _set(runtime: BotRuntime, circle_id: int, **values: Any) -> None:
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id)
        assert circle is not None
        for key, value in values.items():
            setattr(circle, key, value)


def _scheduler(runtime: BotRuntime) -> str:
    return runtime.settings.user_id(runtime.settings.scheduler.localpart)


async def create_room(runtime: BotRuntime, circle_id: int) -> None:
    """Step ready -> room_created: exactly one room, found again after a crash."""
    assert runtime.client is not None
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id)
    if circle is None or circle.state != READY:
        return
    if circle.room_txn is None:
        token = secrets.token_hex(12)
        await _set(runtime, circle_id, room_txn=token)  # stored before the room exists
    else:
        token = circle.room_txn
        found = await runtime.find_marked_room(MARKER, token)
        if found is not None:
            await _set(runtime, circle_id, room_id=found, state=ROOM_CREATED)
            return
    scheduler = _scheduler(runtime)
    bots = [runtime.user_id, scheduler]
    response = await runtime.client.room_create(
        visibility=nio.RoomVisibility.private,
        name=circle.topic,
        topic=circle.topic,
        preset=nio.RoomPreset.private_chat,
        initial_state=rooms.private_state(
            MARKER, {"circle_id": circle_id, "token": token}, bots, history="invited"
        ),
        power_level_override=rooms.power_levels(bots, scheduler),
        invite=[scheduler],
    )
    if not isinstance(response, nio.RoomCreateResponse):
        raise RuntimeError(f"could not create the room of circle {circle_id}: {response}")
    await _set(runtime, circle_id, room_id=response.room_id, state=ROOM_CREATED)
    log.info("circle room created", extra={"bot": "matchmaker", "room_id": response.room_id})


async def invite_yeses(runtime: BotRuntime, circle_id: int) -> None:
    """Everyone who said yes and is not invited yet (room_created -> invited; later
    yeses in a circle under way). Inviting twice is harmless."""
    assert runtime.client is not None
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id)
        people = await _people(session, circle_id)
    if (
        circle is None
        or circle.room_id is None
        or circle.state
        not in (
            ROOM_CREATED,
            INVITED,
            INTRODUCED,
        )
    ):
        return
    for member, person in people:
        if member.state != YES or member.invited_at is not None:
            continue
        response = await runtime.client.room_invite(circle.room_id, person.matrix_id)
        if isinstance(response, nio.RoomInviteError) and "already" not in response.message:
            raise RuntimeError(f"could not invite {person.matrix_id}: {response.message}")
        async with runtime.db.session() as session:
            row = await session.get(CircleMember, member.id)
            if row is not None:
                row.invited_at = runtime.clock.now()
        if circle.state == INTRODUCED:
            # The room's key goes to the members the bot knows of: the newcomer is a
            # reader, so the outbox sends only once the bot's sync has their invite.
            await runtime.post(
                circle.room_id,
                "circle_joined.html",
                circle.language,
                txn=txn_id("circle-joined", str(circle_id), str(person.id)),
                readers=[person.matrix_id],
                subjects=[person.matrix_id],
                name=first_name(person),
            )
    if circle.state == ROOM_CREATED:
        await _set(runtime, circle_id, state=INVITED)


async def introduce(runtime: BotRuntime, circle_id: int) -> None:
    """Step invited -> introduced: a welcome, sent when those who said yes can read it."""
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id)
        people = await _people(session, circle_id)
    if circle is None or circle.state != INVITED or circle.room_id is None:
        return
    joined = [(m, p) for m, p in people if m.state == YES]
    host = _host(joined)
    await runtime.post(
        circle.room_id,
        "circle_welcome.html",
        circle.language,
        txn=txn_id("circle-welcome", str(circle_id)),
        readers=[p.matrix_id for _, p in joined],
        subjects=[p.matrix_id for _, p in joined],
        mentions=[p.matrix_id for _, p in joined],
        topic=circle.topic,
        host=first_name(host) if host else "",
        names=[first_name(p) for m, p in joined if m.role == MEMBER],
    )
    now = runtime.clock.now()
    await _set(runtime, circle_id, state=INTRODUCED, introduced_at=now, last_activity_at=now)
    async with runtime.db.session() as session:
        session.add(
            AuditEntry(
                actor="matchmaker", action="circle_room_ready", subject=str(circle_id), at=now
            )
        )


STEPS = {READY: create_room, ROOM_CREATED: invite_yeses, INVITED: introduce}


async def advance(runtime: BotRuntime, circle_id: int) -> None:
    for _ in STEPS:
        async with runtime.db.session() as session:
            circle = await session.get(Circle, circle_id)
            state = circle.state if circle else None
        if state not in STEPS:
            break
        await STEPS[state](runtime, circle_id)
    await invite_yeses(runtime, circle_id)  # a yes that came after the welcome


async def advance_all(runtime: BotRuntime) -> None:
    """Circles whose room is still being made, and circles under way with a yes not
    yet invited (only those: a municipality's many quiet circles cost nothing here)."""
    async with runtime.db.session() as session:
        unfinished = (
            await session.scalars(select(Circle.id).where(Circle.state.in_(UNFINISHED)))
        ).all()
        late_yes = (
            await session.scalars(
                select(CircleMember.circle_id)
                .join(Circle, Circle.id == CircleMember.circle_id)
                .where(
                    Circle.state == INTRODUCED,
                    CircleMember.state == YES,
                    CircleMember.invited_at.is_(None),
                )
            )
        ).all()
    for circle_id in sorted({*unfinished, *late_yes}):
        try:
            await advance(runtime, circle_id)
        except Exception:
            log.exception(
                "circle room step failed", extra={"bot": "matchmaker", "circle": circle_id}
            )


# Leaving and handing over --------------------------------------------------------------------


async def circle_in_room(runtime: BotRuntime, room_id: str) -> Circle | None:
    async with runtime.db.session() as session:
        return await session.scalar(select(Circle).where(Circle.room_id == room_id))


async def _my_circle(runtime: BotRuntime, matrix_id: str, number: int | None) -> Circle | None:
    """The live circle a person is in (the one numbered, if they name one)."""
    async with runtime.db.session() as session:
        me = await _me(session, matrix_id)
        if me is None:
            return None
        query = (
            select(Circle)
            .join(CircleMember, CircleMember.circle_id == Circle.id)
            .where(
                CircleMember.person_id == me.id,
                CircleMember.state == YES,
                Circle.state.in_(OPEN),
            )
            .order_by(Circle.id.desc())
        )
        if number is not None:
            query = query.where(Circle.id == number)
        return await session.scalar(query)


@COMMANDS.command(
    "leave",
    da=("forlad", "udmeld"),
    en=("leave",),
    help="Leave your circle (in the circle, or here)",
    args="[number]",
    where=Where.VISIT_ROOM | Where.DIRECT,
)
async def leave_command(ctx: MessageContext) -> None:
    runtime = ctx.runtime
    if ctx.where is Where.VISIT_ROOM:
        circle = await circle_in_room(runtime, ctx.room.room_id)
        if circle is None:
            await ctx.reply("circle_none.html")
            return
    else:
        number = int(ctx.args) if ctx.args.strip().isdigit() else None
        circle = await _my_circle(runtime, ctx.sender, number)
        if circle is None:
            await ctx.reply("circle_none.html")
            return
    await leave(runtime, circle.id, ctx.sender, reply=ctx.reply)


async def leave(runtime: BotRuntime, circle_id: int, matrix_id: str, *, reply: Any) -> None:
    """One person leaves: thanked privately, the circle told kindly, and a host's
    circle handed to the member who said yes first (the last one out closes it)."""
    now = runtime.clock.now()
    new_host: Person | None = None
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id, with_for_update=True)
        people = await _people(session, circle_id)
        mine = next(((m, p) for m, p in people if p.matrix_id == matrix_id), None)
        if circle is None or mine is None or mine[0].state != YES:
            await reply("circle_none.html")
            return
        member, person = mine
        member.state = LEFT
        staying = sorted(
            ((m, p) for m, p in people if m.state == YES and m.id != member.id),
            key=lambda mp: (mp[0].answered_at or now, mp[0].id),
        )
        asking = circle.state == ASKING
        if member.role == HOST and staying and not asking:
            staying[0][0].role, member.role = HOST, MEMBER
            new_host = staying[0][1]
        if not staying and not asking:
            circle.state, circle.closed_at, circle.closed_by = CLOSED, now, matrix_id
        # Still asking: leaving is a late no, and may leave too few to come together.
        lost = asking and not possible([(m.role, m.state) for m, _ in people])
        session.add(
            AuditEntry(actor=matrix_id, action="circle_left", subject=str(circle_id), at=now)
        )
        topic, room_id, lang = circle.topic, circle.room_id, circle.language
    if lost:
        await _lapse(runtime, circle, people, now)
    # Thanked privately, wherever they wrote the word.
    await runtime.send_direct(
        matrix_id,
        "circle_left.html",
        txn=txn_id("circle-left-thanks", str(circle_id), matrix_id),
        topic=topic,
    )
    if room_id is None:
        return
    await runtime.post(
        room_id,
        "circle_member_left.html",
        lang,
        txn=txn_id("circle-left", str(circle_id), matrix_id),
        readers=None,
        subjects=[matrix_id] + ([new_host.matrix_id] if new_host else []),
        name=first_name(person),
        new_host=first_name(new_host) if new_host else None,
    )
    assert runtime.client is not None
    await runtime.client.room_kick(room_id, matrix_id)


@COMMANDS.command(
    "handover",
    da=("overdrag",),
    en=("handover", "hand-over"),
    help="Hand hosting the circle to another member (hosts only)",
    args="@person",
    where=Where.VISIT_ROOM,
)
async def handover_command(ctx: MessageContext) -> None:
    runtime = ctx.runtime
    circle = await circle_in_room(runtime, ctx.room.room_id)
    if circle is None:
        await ctx.reply("circle_none.html")
        return
    target = ctx.args.strip().split(" ")[0] if ctx.args.strip() else ""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        people = await _people(session, circle.id)
        me = next((m for m, p in people if p.matrix_id == ctx.sender and m.state == YES), None)
        if me is None or me.role != HOST:
            await ctx.reply("circle_handover_problem.html", problem="not_host")
            return
        them = next(
            ((m, p) for m, p in people if m.state == YES and _names(p, target) and m.id != me.id),
            None,
        )
        if them is None:
            await ctx.reply("circle_handover_problem.html", problem="who")
            return
        row_me = await session.get(CircleMember, me.id)
        row_them = await session.get(CircleMember, them[0].id)
        assert row_me is not None and row_them is not None
        row_me.role, row_them.role = MEMBER, HOST
        session.add(
            AuditEntry(
                actor=ctx.sender, action="circle_handed_over", subject=str(circle.id), at=now
            )
        )
    await ctx.reply(
        "circle_handed_over.html", name=first_name(them[1]), mentions=[them[1].matrix_id]
    )


def _names(person: Person, word: str) -> bool:
    """Whether ``word`` (a Matrix ID, a mention pill's text or a first name) is them."""
    word = word.strip().lstrip("@").casefold()
    if not word:
        return False
    return word in {
        person.matrix_id.lstrip("@").casefold(),
        person.matrix_id.lstrip("@").split(":")[0].casefold(),
        first_name(person).casefold(),
    }


async def close(runtime: BotRuntime, circle_id: int, by: str) -> Circle | None:
    """End a circle kindly: a goodbye in its room, each member thanked privately."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        circle = await session.get(Circle, circle_id, with_for_update=True)
        if circle is None or circle.state in (CLOSED, LAPSED):
            return None
        circle.state, circle.closed_at, circle.closed_by = CLOSED, now, by
        people = await _people(session, circle_id)
        session.add(AuditEntry(actor=by, action="circle_closed", subject=str(circle_id), at=now))
    await runtime.outbox.cancel([ref(circle_id, p.id) for _, p in people])
    if circle.room_id:
        await runtime.post(
            circle.room_id,
            "circle_closed_room.html",
            circle.language,
            txn=txn_id("circle-closed", str(circle_id)),
            readers=None,
            topic=circle.topic,
        )
    for member, person in people:
        if member.state == YES:
            await runtime.send_direct(
                person.matrix_id,
                "circle_closed_thanks.html",
                txn=txn_id("circle-closed", str(circle_id), str(person.id)),
                topic=circle.topic,
            )
    return circle


async def _form_and_ask(runtime: BotRuntime) -> None:
    if await form_now(runtime):
        runtime.wake(jobs.CIRCLES)


async def on_start(runtime: BotRuntime) -> None:
    runtime.outbox.on_sent(REF, record_question)
    runtime.spawn_worker(jobs.CIRCLES, lambda: deliver_once(runtime), every_s=30)
    runtime.spawn_worker(jobs.CIRCLE_ROOMS, lambda: advance_all(runtime), every_s=15)
    # Forming at the pace of matching rounds, and soon after someone asks.
    every = runtime.settings.matching.every_minutes * 60
    runtime.spawn_worker(jobs.CIRCLE_FORMING, lambda: _form_and_ask(runtime), every_s=every)
