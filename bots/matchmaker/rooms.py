"""The visit room: made once for a pair who both said yes, and ended kindly.

Making a room is a recorded state machine on the ``Match`` row:
accepted -> room_created -> invited -> introduced. A background worker advances
every match that is not yet introduced, one step at a time, storing each step
before the next; after a crash it resumes where the row says. Before creating a
room it stores a token, and the room carries that token in its state, so a crash
between creating the room and storing its ID finds the room again instead of
making a second one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import nio
from sqlalchemy import select

from bots.common.commands import Where
from bots.common.runtime import MAKING_AT_ONCE, BotRuntime, MessageContext, txn_id
from bots.matchmaker import jobs
from bots.matchmaker.profiles import first_name
from bots.matchmaker.proposals import answer_reaction, answer_word, reasons_of
from bots.matchmaker.reasons import explain
from bots.matchmaker.scoring import Reason, ReasonKind
from bots.matchmaker.table import COMMANDS
from connec.interests import interest
from connec.models import AuditEntry, Dialogue, Match, Person, Proposal

log = logging.getLogger(__name__)

WORKER = jobs.ROOMS
MARKER = "io.connec.match"
UNFINISHED = ("accepted", "room_created", "invited")
ADMIN_ONLY = 100
# State people may set: joining calls (MatrixRTC call membership).
CALL_STATE = ("org.matrix.msc3401.call.member", "m.call.member")


def power_levels(bots: list[str], scheduler: str) -> dict[str, Any]:
    """People talk, send pictures and call; only the matchmaker changes the room.

    The matchmaker creates the room, and from room version 12 a creator outranks
    every power level and is not listed.
    """
    locked = (
        "m.room.name",
        "m.room.topic",
        "m.room.avatar",
        "m.room.power_levels",
        "m.room.history_visibility",
        "m.room.encryption",
        "m.room.join_rules",
        "m.room.guest_access",
        "m.room.server_acl",
        "m.room.tombstone",
        "m.room.canonical_alias",
        "m.room.pinned_events",
        "io.element.functional_members",
        MARKER,
    )
    return {
        "users": {scheduler: 50},
        "users_default": 0,
        "events_default": 0,
        "state_default": ADMIN_ONLY,
        "invite": ADMIN_ONLY,
        "kick": ADMIN_ONLY,
        "ban": ADMIN_ONLY,
        "redact": ADMIN_ONLY,
        "notifications": {"room": ADMIN_ONLY},
        "events": {**dict.fromkeys(locked, ADMIN_ONLY), **dict.fromkeys(CALL_STATE, 0)},
    }


def room_state(match_id: int, token: str, bots: list[str]) -> list[dict[str, Any]]:
    return private_state(MARKER, {"match_id": match_id, "token": token}, bots)


def private_state(
    marker: str, content: dict[str, Any], bots: list[str], *, history: str = "shared"
) -> list[dict[str, Any]]:
    """The state of a room connec makes for people (a visit room, a circle): encrypted,
    invite-only, no guests, the bots as service members, and a marker with the token
    that finds the room again after a crash.

    ``history``: who sees what was said before they came. A visit room invites both
    people as it is made ("shared"); a circle takes in later yeses, who see it from their
    invitation on ("invited"): words said before were encrypted for others' devices, so
    they could only show as messages nobody can read."""
    return [
        {
            "type": "m.room.encryption",
            "state_key": "",
            "content": {"algorithm": "m.megolm.v1.aes-sha2"},
        },
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": history},
        },
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
        # Element treats the bots as service members: the room is one-to-one,
        # named after the other person, and offers 1:1 calls.
        {
            "type": "io.element.functional_members",
            "state_key": "",
            "content": {"service_members": bots},
        },
        {"type": marker, "state_key": "", "content": content},
    ]


def shared_interest_names(reasons: list[Reason], lang: str) -> list[str]:
    names: list[str] = []
    for reason in reasons:
        if reason.kind == ReasonKind.SHARED_INTERESTS:
            names += [i.name(lang) for key in reason.data if (i := interest(key)) is not None]
        elif reason.kind == ReasonKind.SHARED_PERSONAL_INTERESTS:
            names += list(reason.data)
    return names


async def _load(
    runtime: BotRuntime, match_id: int
) -> tuple[Match, Person, Person, list[Reason]] | None:
    async with runtime.db.session() as session:
        match = await session.get(Match, match_id)
        if match is None:
            return None
        a, b = await session.get(Person, match.a_id), await session.get(Person, match.b_id)
        proposal = await session.get(Proposal, match.proposal_id) if match.proposal_id else None
    if a is None or b is None:
        return None
    return match, a, b, reasons_of(proposal) if proposal else []


async def _set(runtime: BotRuntime, match_id: int, **values: Any) -> None:
    async with runtime.db.session() as session:
        match = await session.get(Match, match_id)
        assert match is not None
        for key, value in values.items():
            setattr(match, key, value)


async def create_room(runtime: BotRuntime, match_id: int) -> str | None:
    """Step accepted -> invited: exactly one room for the match, both people and the
    scheduler invited as it is made (a room found again after a crash goes through
    room_created -> invited)."""
    assert runtime.client is not None
    loaded = await _load(runtime, match_id)
    if loaded is None:
        return None
    match, a, b, reasons = loaded
    if match.state != "accepted":
        return match.room_id
    if match.room_txn is None:
        token = secrets.token_hex(12)
        await _set(runtime, match_id, room_txn=token)  # stored before the room exists
    else:
        token = match.room_txn
        found = await runtime.find_marked_room(MARKER, token)
        if found is not None:
            await _set(runtime, match_id, room_id=found, state="room_created")
            return found
    settings = runtime.settings
    scheduler = settings.user_id(settings.scheduler.localpart)
    bots = [runtime.user_id, scheduler]
    lang = settings.language
    shared = shared_interest_names(reasons, lang)
    response = await runtime.client.room_create(
        visibility=nio.RoomVisibility.private,
        name=f"{first_name(a)} & {first_name(b)}",
        topic=", ".join(shared[:5]) if shared else None,
        preset=nio.RoomPreset.private_chat,
        initial_state=room_state(match_id, token, bots),
        power_level_override=power_levels(bots, scheduler),
        # Invited in the same request: one call instead of four when many pairs say
        # yes in one evening. A room found again after a crash is invited again.
        invite=[a.matrix_id, b.matrix_id, scheduler],
    )
    if not isinstance(response, nio.RoomCreateResponse):
        raise RuntimeError(f"could not create the visit room for match {match_id}: {response}")
    await _set(runtime, match_id, room_id=response.room_id, state="invited")
    log.info("visit room created", extra={"bot": "matchmaker", "room_id": response.room_id})
    return response.room_id


async def invite(runtime: BotRuntime, match_id: int) -> None:
    """Step room_created -> invited: both people (also on allowed federated servers)
    and the scheduler. Inviting someone already invited is harmless."""
    assert runtime.client is not None
    loaded = await _load(runtime, match_id)
    if loaded is None:
        return
    match, a, b, _ = loaded
    if match.state != "room_created" or match.room_id is None:
        return
    scheduler = runtime.settings.user_id(runtime.settings.scheduler.localpart)
    for user_id in (a.matrix_id, b.matrix_id, scheduler):
        response = await runtime.client.room_invite(match.room_id, user_id)
        if isinstance(response, nio.RoomInviteError) and "already" not in response.message:
            raise RuntimeError(f"could not invite {user_id}: {response.message}")
    await _set(runtime, match_id, state="invited")


async def introduce(runtime: BotRuntime, match_id: int) -> None:
    """Step invited -> introduced: a warm ice-breaker built from what they share,
    posted now and sent when both people can read it."""
    assert runtime.client is not None
    loaded = await _load(runtime, match_id)
    if loaded is None:
        return
    match, a, b, reasons = loaded
    if match.state != "invited" or match.room_id is None:
        return
    lang = runtime.settings.language
    messages = runtime.bot.messages
    shared = shared_interest_names(reasons, lang)
    if shared:
        question = messages.gettext(
            lang, "Here is something to start with: what first got you interested in {interest}?"
        ).format(interest=shared[0])
    else:
        question = messages.gettext(
            lang, "Here is something to start with: tell each other about a good day you remember."
        )
    # Waits in the outbox until both have a device: the first words are for both.
    await runtime.post(
        match.room_id,
        "visit_icebreaker.html",
        lang,
        txn=txn_id("icebreaker", str(match_id)),
        readers=[a.matrix_id, b.matrix_id],
        subjects=[a.matrix_id, b.matrix_id],
        mentions=[a.matrix_id, b.matrix_id],
        a=first_name(a),
        b=first_name(b),
        reasons=explain(reasons, lang),
        question=question,
    )
    now = runtime.clock.now()
    await _set(runtime, match_id, state="introduced", introduced_at=now, last_activity_at=now)
    async with runtime.db.session() as session:
        session.add(
            AuditEntry(actor="matchmaker", action="visit_room_ready", subject=str(match_id), at=now)
        )


STEPS = {"accepted": create_room, "room_created": invite, "invited": introduce}


async def advance(runtime: BotRuntime, match_id: int) -> None:
    """Take a match as far as it goes: each step is stored before the next."""
    for _ in STEPS:
        async with runtime.db.session() as session:
            match = await session.get(Match, match_id)
            state = match.state if match else None
        if state not in STEPS:
            return
        await STEPS[state](runtime, match_id)


async def advance_all(runtime: BotRuntime) -> None:
    async with runtime.db.session() as session:
        ids = (
            await session.scalars(
                select(Match.id).where(Match.state.in_(UNFINISHED)).order_by(Match.id)
            )
        ).all()
    # Many yeses in one evening: rooms are made side by side, each match's steps in order.
    gate = asyncio.Semaphore(MAKING_AT_ONCE)

    async def one(match_id: int) -> None:
        async with gate:
            try:
                await advance(runtime, match_id)
            except Exception:
                log.exception(
                    "visit room step failed", extra={"bot": "matchmaker", "match": match_id}
                )

    await asyncio.gather(*(one(match_id) for match_id in ids))


# Ending a match --------------------------------------------------------------------------


async def end_match(runtime: BotRuntime, match: Match, by: str, reason: str | None) -> None:
    """Thank both, record the ending, and offer each a new match."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        row = await session.get(Match, match.id)
        if row is None or row.state == "ended":
            return
        row.state, row.ended_at, row.ended_by, row.end_reason = "ended", now, by, reason
        a, b = await session.get(Person, row.a_id), await session.get(Person, row.b_id)
        session.add(
            AuditEntry(
                actor=by,
                action="match_ended",
                subject=str(match.id),
                at=now,
                details={"with_reason": bool(reason)},
            )
        )
        room_id = row.room_id
    if room_id:
        await runtime.post(
            room_id,
            "visit_ended.html",
            runtime.settings.language,
            txn=txn_id("ended", str(match.id)),
            readers=None,
        )
    for person in (a, b):
        if person is not None:
            runtime.spawn(
                runtime.send_direct(
                    person.matrix_id,
                    "new_match_offer.html",
                    txn=txn_id("new-match", str(match.id), person.matrix_id),
                ),
                "new match offer",
            )
    runtime.wake(jobs.ROUND, person_ids=[p.id for p in (a, b) if p is not None])


async def set_paused(runtime: BotRuntime, match: Match, by: str, paused: bool) -> None:
    """A coordinator pauses a match (reminders stop) or lets it go on."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        row = await session.get(Match, match.id)
        if row is None or row.state not in ("introduced", "paused"):
            return
        row.state = "paused" if paused else "introduced"
        session.add(
            AuditEntry(
                actor=by,
                action="match_paused" if paused else "match_resumed",
                subject=str(match.id),
                at=now,
            )
        )


async def match_in_room(runtime: BotRuntime, room_id: str) -> Match | None:
    async with runtime.db.session() as session:
        return await session.scalar(select(Match).where(Match.room_id == room_id))


@COMMANDS.command(
    "end",
    da=("afslut",),
    en=("end",),
    help="End this friendship kindly (asks first)",
    args="[reason]",
    where=Where.VISIT_ROOM,
)
async def end_command(ctx: MessageContext) -> None:
    match = await match_in_room(ctx.runtime, ctx.room.room_id)
    if match is None or match.state == "ended":
        await ctx.reply("visit_end_kept.html")
        return
    question = await ctx.reply("visit_end_confirm.html")
    data = {
        "match_id": match.id,
        "room_id": ctx.room.room_id,
        "reason": ctx.args or None,
        "question": question,
    }
    async with ctx.runtime.db.session() as session:
        dialogue = await _dialogue(session, ctx.sender)
        if dialogue is None:
            session.add(
                Dialogue(
                    bot="matchmaker", matrix_id=ctx.sender, kind="end", step="confirm", data=data
                )
            )
        elif dialogue.kind == "end":
            dialogue.data = data
        else:
            # An intake or a change is under way: keep it, and note the question beside it.
            dialogue.data = {**dialogue.data, END_MARKER: data}


END_MARKER = "end_confirm"


async def _dialogue(session: Any, sender: str) -> Dialogue | None:
    return await session.scalar(
        select(Dialogue).where(Dialogue.bot == "matchmaker", Dialogue.matrix_id == sender)
    )


async def _pending_end(runtime: BotRuntime, sender: str, room_id: str) -> dict[str, Any] | None:
    """The question of ending asked of this person in this room, if it is open."""
    async with runtime.db.session() as session:
        dialogue = await _dialogue(session, sender)
    if dialogue is None:
        return None
    data = dialogue.data if dialogue.kind == "end" else dialogue.data.get(END_MARKER)
    if not isinstance(data, dict) or data.get("room_id") != room_id:
        return None
    return data


async def _decide_end(
    runtime: BotRuntime, data: dict[str, Any], sender: str, yes: bool, reply: Any
) -> None:
    async with runtime.db.session() as session:
        row = await _dialogue(session, sender)
        if row is not None and row.kind == "end":
            await session.delete(row)
        elif row is not None:
            row.data = {k: v for k, v in row.data.items() if k != END_MARKER}
    if not yes:
        await reply("visit_end_kept.html")
        return
    async with runtime.db.session() as session:
        match = await session.get(Match, int(data["match_id"]))
    if match is not None:
        await end_match(runtime, match, sender, data.get("reason"))


async def on_text(ctx: MessageContext) -> bool:
    """ "ja" or "nej" to the question of ending, in the visit room."""
    if ctx.where is not Where.VISIT_ROOM:
        return False
    answer = answer_word(ctx.body)
    pending = await _pending_end(ctx.runtime, ctx.sender, ctx.room.room_id)
    if pending is None or answer is None:
        return False
    await _decide_end(ctx.runtime, pending, ctx.sender, answer == "yes", ctx.reply)
    return True


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    answer = answer_reaction(event.key)
    pending = await _pending_end(runtime, event.sender, room.room_id)
    if pending is None or answer is None or pending.get("question") != event.reacts_to:
        return False

    ctx = await runtime.context_for(room, event)
    await _decide_end(runtime, pending, event.sender, answer == "yes", ctx.reply)
    return True


async def on_member(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.RoomMemberEvent) -> None:
    """Nothing yet: joining needs no answer; the scheduler notices silence."""


async def on_start(runtime: BotRuntime) -> None:
    runtime.spawn_worker(WORKER, lambda: advance_all(runtime), every_s=15)
