"""Coordinators and circles: `!cirkler`, `!ny-cirkel "Emne" @vært`, `!luk-cirkel N`.

Showing answers at once; starting and closing ask first (:mod:`bots.matchmaker.asking`),
so each supplies only how it finds what it is about and what its yes does. Audit
lines carry IDs only, never the topic's or anyone's words.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from sqlalchemy import func, select

from bots.common.commands import Permission, Where
from bots.common.runtime import BotRuntime, MessageContext
from bots.matchmaker import circles, jobs
from bots.matchmaker.asking import Asking, Outcome, asks_first, audit, cannot, mark, usage
from bots.matchmaker.circle_forming import form_circles
from bots.matchmaker.coordination import command_args, matrix_id_of
from bots.matchmaker.profiles import first_name
from bots.matchmaker.scoring import interest_weights
from bots.matchmaker.table import COMMANDS
from connec.models import Booking, Circle, CircleMember, PendingAction, Person

# "Kolonihaven" @birthe, with straight or curly quotes; the topic may hold spaces.
_QUOTED = re.compile(r"^\s*[\"“”„'‘’](?P<topic>[^\"“”„'‘’]+)[\"“”„'‘’]\s*(?P<rest>.*)$")
LIST_LIMIT = 25


def topic_and_host(args: str) -> tuple[str, str] | None:
    """``"Krimier" @karen`` → ``("Krimier", "@karen")``; None if either is missing."""
    found = _QUOTED.match(args)
    if found is None:
        return None
    topic, rest = found.group("topic").strip(), found.group("rest").strip()
    if not topic or not rest:
        return None
    return topic[:128], rest.split()[0]


@COMMANDS.command(
    "circles",
    da=("cirkler",),
    en=("circles",),
    help="Circles: their hosts, members and activity",
    permission=Permission.COORDINATOR,
    where=Where.COORDINATORS_ROOM,
)
async def circles_command(ctx: MessageContext) -> None:
    runtime = ctx.runtime
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        rows = (
            await session.scalars(
                select(Circle).where(Circle.state.in_(circles.OPEN)).order_by(Circle.id)
            )
        ).all()
        people = (
            await session.execute(
                select(CircleMember, Person)
                .join(Person, Person.id == CircleMember.person_id)
                .where(CircleMember.circle_id.in_([c.id for c in rows]))
            )
        ).all()
        gatherings = dict(
            (
                await session.execute(
                    select(Booking.circle_id, func.count())
                    .where(
                        Booking.circle_id.in_([c.id for c in rows]), Booking.state == "confirmed"
                    )
                    .group_by(Booking.circle_id)
                )
            ).all()
        )
        audit(session, runtime, ctx.sender, "circles", "shown")
    views = []
    for circle in rows[:LIST_LIMIT]:
        mine = [(m, p) for m, p in people if m.circle_id == circle.id]
        host = next(
            (p for m, p in mine if m.role == circles.HOST and m.state != circles.LEFT), None
        )
        views.append(
            {
                "number": circle.id,
                "topic": circle.topic,
                "state": circle.state,
                "host": {"name": first_name(host), "matrix_id": host.matrix_id} if host else None,
                "members": [
                    {"name": first_name(p), "matrix_id": p.matrix_id}
                    for m, p in mine
                    if m.role == circles.MEMBER and m.state == circles.YES
                ],
                "asked": sum(1 for m, _ in mine if m.state == circles.ASKED),
                "gatherings": gatherings.get(circle.id, 0),
                "quiet_days": _days(now, circle.last_activity_at),
            }
        )
    await ctx.reply("coordinator_circles.html", circles=views, more=max(0, len(rows) - LIST_LIMIT))
    await mark(runtime, ctx.room.room_id, ctx.event.event_id, ok=True)


def _days(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else (now - since).days


@asks_first(
    "new-circle",
    da=("ny-cirkel",),
    en=("new-circle",),
    help="Start a circle by hand: its topic and host; I find members who share it and ask all",
    args='"<topic>" @host',
)
async def new_circle_command(ctx: MessageContext) -> Asking | None:
    formatted = getattr(ctx.event, "formatted_body", None)
    parsed = topic_and_host(command_args(ctx.body, formatted) if formatted else ctx.args)
    if parsed is None:
        await usage(ctx)
        return None
    topic, who = parsed
    matrix_id = matrix_id_of(who, ctx.runtime.settings.synapse.server_name)
    async with ctx.runtime.db.session() as session:
        host = (
            await session.scalar(select(Person).where(Person.matrix_id == matrix_id))
            if matrix_id
            else None
        )
    if host is None:
        await cannot(ctx, "unknown_person", ident=who)
        return None
    return Asking(
        what={"topic": topic, "host": {"name": host.display_name, "matrix_id": host.matrix_id}},
        params={"topic": topic, "host_id": host.id},
        subject=str(host.id),
        person_id=host.id,
    )


@new_circle_command.act
async def _new_circle(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    """Members for the coordinator's topic and host, found as forming finds them."""
    now = runtime.clock.now()
    topic = str(pending.params["topic"])
    async with runtime.db.session() as session:
        host_row = await session.get(Person, int(str(pending.params["host_id"])))
        data = await circles.read_input(session, now, runtime.settings.language)
    host = circles.host_of(host_row, topic, runtime.settings.language) if host_row else None
    members = [m for m in data.members if host is None or m.person_id != host.profile.person_id]
    if host is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "too_few", "topic": topic})
    # Off the event loop, as every forming round: people keep getting answers meanwhile.
    forming = await asyncio.to_thread(
        form_circles, members, [host], interest_weights(data.people), year=now.year
    )
    if not forming.circles:
        return Outcome(False, "coordinator_problem.html", {"problem": "too_few", "topic": topic})
    async with runtime.db.session() as session:
        [circle] = await circles.store(
            session, forming.circles[:1], now, source="manual", by=pending.requested_by
        )
        number = circle.id
    return Outcome(
        True,
        "coordinator_result.html",
        {"result": "circle_started", "number": number, "topic": topic,
         "count": len(forming.circles[0].member_ids)},
        after=lambda: runtime.wake(jobs.CIRCLES),
    )  # fmt: skip


@asks_first(
    "close-circle",
    da=("luk-cirkel",),
    en=("close-circle",),
    help="End a circle kindly: a goodbye in its room, and each member thanked",
    args="<number>",
)
async def close_circle_command(ctx: MessageContext) -> Asking | None:
    number = ctx.args.strip().lstrip("#")
    if not number.isdigit():
        await usage(ctx)
        return None
    async with ctx.runtime.db.session() as session:
        circle = await session.get(Circle, int(number))
    if circle is None or circle.state not in circles.OPEN:
        await cannot(ctx, "unknown_circle", number=int(number))
        return None
    return Asking(
        what={"number": circle.id, "topic": circle.topic},
        params={"circle_id": circle.id},
        subject=str(circle.id),
    )


@close_circle_command.act
async def _close_circle(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    number = int(str(pending.params["circle_id"]))
    closed = await circles.close(runtime, number, pending.requested_by)
    if closed is None:
        return Outcome(
            False, "coordinator_problem.html", {"problem": "unknown_circle", "number": number}
        )
    return Outcome(True, "coordinator_result.html", {"result": "circle_closed", "number": number})
