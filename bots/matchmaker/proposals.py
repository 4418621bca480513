"""Asking two people whether they would like to meet, and hearing their answers.

A proposal is asked of both people privately, with the other's first name, age
band and what they share. Either answers in words ("ja", "nej", "1", "2") or with a
reaction on the question. Both yes: a match, and a visit room follows (``rooms.py``).
A no frees both for other proposals, and nobody is told who declined.

Delivery is an outbox: proposals are rows first, and a background task sends what
has not been sent yet, with deterministic transaction IDs, so a crash never loses a
proposal or asks twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import nio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Where, fold
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import jobs
from bots.matchmaker.profiles import first_name, to_profile
from bots.matchmaker.reasons import explain, reasons_as_json
from bots.matchmaker.scoring import Reason, interest_weights, score
from connec.models import AuditEntry, Match, Person, Proposal
from connec.people import age_band

log = logging.getLogger(__name__)

YES_WORDS = {
    "ja",
    "jo",
    "yes",
    "y",
    "1",
    "gerne",
    "ok",
    "okay",
    "jatak",
    "ja tak",
    "yes please",
    "👍",
    "✅",
    "✔️",
}
NO_WORDS = {"nej", "no", "n", "2", "nejtak", "nej tak", "no thanks", "👎", "❌"}
YES_REACTIONS = {"👍", "✅", "✔️", "👍️", "😀", "❤️"}
NO_REACTIONS = {"👎", "❌", "✖️"}
WORKER = jobs.PROPOSALS
REF = "proposal"
SUGGESTION_REF = "suggestion"


def answer_word(text: str) -> str | None:
    """ "yes", "no" or None for what a person wrote."""
    words = fold(text.strip().strip(".!").lower())
    if words in {fold(w) for w in YES_WORDS}:
        return "yes"
    if words in {fold(w) for w in NO_WORDS}:
        return "no"
    return None


def answer_reaction(key: str) -> str | None:
    key = key.replace("\ufe0f", "")
    if key in {k.replace("\ufe0f", "") for k in YES_REACTIONS}:
        return "yes"
    if key in {k.replace("\ufe0f", "") for k in NO_REACTIONS}:
        return "no"
    return None


def reasons_of(proposal: Proposal) -> list[Reason]:
    return [Reason(r["kind"], tuple(r["data"])) for r in proposal.reasons]  # type: ignore[arg-type]


# Creating proposals by hand, and coordinators' approval --------------------------------


async def create_manual_proposal(runtime: BotRuntime, a: Person, b: Person, by: str) -> Proposal:
    """A coordinator's own suggestion: asked at once, still needing both yeses."""
    now = runtime.clock.now()
    profiles = [to_profile(a), to_profile(b)]
    scored = score(*profiles, weights=interest_weights(profiles), today_year=now.year)
    async with runtime.db.session() as session:
        proposal = Proposal(
            a_id=a.id,
            b_id=b.id,
            score=scored.value if scored else 0.0,
            reasons=reasons_as_json(scored.reasons if scored else ()),
            state="asked",
            source="manual",
            approved_by=by,
            created_at=now,
            asked_at=now,
        )
        session.add(proposal)
        await session.flush()
        session.add(
            AuditEntry(actor=by, action="proposal_manual", subject=str(proposal.id), at=now)
        )
    runtime.wake(WORKER)
    return proposal


async def approve(runtime: BotRuntime, proposal_id: int, by: str) -> Proposal | None:
    """A coordinator lets a suggested pair be asked. None if there is no such suggestion."""
    proposal = await _decide_suggestion(runtime, proposal_id, by, approved=True)
    if proposal is not None:
        runtime.wake(WORKER)
    return proposal


async def reject(runtime: BotRuntime, proposal_id: int, by: str) -> Proposal | None:
    """A coordinator turns a suggested pair down; they are never suggested again."""
    return await _decide_suggestion(runtime, proposal_id, by, approved=False)


async def _decide_suggestion(
    runtime: BotRuntime, proposal_id: int, by: str, *, approved: bool
) -> Proposal | None:
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        if proposal is None or proposal.state != "suggested":
            return None
        proposal.approved_by = by
        if approved:
            proposal.state, proposal.asked_at = "asked", now
        else:
            proposal.state, proposal.decided_at = "rejected", now
        session.add(
            AuditEntry(
                actor=by,
                subject=str(proposal_id),
                at=now,
                action="proposal_approved" if approved else "proposal_rejected",
            )
        )
    return proposal


# Answers --------------------------------------------------------------------------------


async def _open_for(runtime: BotRuntime, matrix_id: str) -> tuple[Person, Proposal, str] | None:
    """The newest proposal asked of this person and not yet answered by them."""
    async with runtime.db.session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == matrix_id))
        if person is None:
            return None
        proposals = (
            await session.scalars(
                select(Proposal)
                .where(
                    Proposal.state == "asked",
                    (Proposal.a_id == person.id) | (Proposal.b_id == person.id),
                )
                .order_by(Proposal.id.desc())
            )
        ).all()
    for proposal in proposals:
        side = "a" if proposal.a_id == person.id else "b"
        if getattr(proposal, f"{side}_answer") is None and getattr(proposal, f"{side}_event_id"):
            return person, proposal, side
    return None


async def on_text(ctx: MessageContext) -> bool:
    """A yes or no in the direct room, to the proposal waiting for this person."""
    if ctx.where is not Where.DIRECT:
        return False
    answer = answer_word(ctx.body)
    if answer is None:
        return False
    found = await _open_for(ctx.runtime, ctx.sender)
    if found is None:
        return False
    _person, proposal, side = found
    await record_answer(ctx.runtime, proposal.id, side, answer, reply=ctx.reply)
    return True


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """👍 or 👎 on the question itself."""
    answer = answer_reaction(event.key)
    if answer is None:
        return False
    # The question itself, or its reminder, or the question asked again on a new device.
    ref = await runtime.outbox.ref_of(event.reacts_to)
    async with runtime.db.session() as session:
        if ref is not None and ref.startswith(f"{REF}:"):
            _, number, side = ref.split(":")
            proposal = await session.get(Proposal, int(number))
        else:
            proposal = await session.scalar(
                select(Proposal).where(
                    (Proposal.a_event_id == event.reacts_to)
                    | (Proposal.b_event_id == event.reacts_to)
                )
            )
            side = "a" if proposal is not None and proposal.a_event_id == event.reacts_to else "b"
        if proposal is None:
            return False
        person = await session.get(Person, getattr(proposal, f"{side}_id"))
    if person is None or person.matrix_id != event.sender:
        return False
    ctx = await runtime.context_for(room, event)
    await record_answer(runtime, proposal.id, side, answer, reply=ctx.reply)
    return True


async def record_answer(
    runtime: BotRuntime, proposal_id: int, side: str, answer: str, *, reply: Any
) -> None:
    """Store one person's answer; two yeses make a match, one no ends the proposal."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        proposal = await session.get(Proposal, proposal_id, with_for_update=True)
        if proposal is None or proposal.state != "asked":
            await reply("proposal_closed.html")
            return
        setattr(proposal, f"{side}_answer", answer)
        other_side = "b" if side == "a" else "a"
        other_answer = getattr(proposal, f"{other_side}_answer")
        outcome = "waiting"
        if answer == "no":
            proposal.state, proposal.decided_at, outcome = "declined", now, "declined"
        elif other_answer == "yes":
            proposal.state, proposal.decided_at, outcome = "accepted", now, "accepted"
            # The match is made in the same transaction as the second yes: never
            # a yes without its match, never two matches.
            session.add(
                Match(
                    proposal_id=proposal.id,
                    a_id=proposal.a_id,
                    b_id=proposal.b_id,
                    state="accepted",
                    created_at=now,
                )
            )
        other = await session.get(Person, getattr(proposal, f"{other_side}_id"))
        other_id = other.matrix_id if other else None
    if outcome == "declined":
        await reply("proposal_no_thanks.html")
        if other_id and other_answer != "no":
            runtime.spawn(
                _tell(
                    runtime, other_id, "proposal_off.html", txn_id("proposal-off", str(proposal_id))
                ),
                "proposal off",
            )
        _ask_for_round(runtime, proposal.a_id, proposal.b_id)
    elif outcome == "accepted":
        await reply("proposal_accepted.html")
        if other_id:
            runtime.spawn(
                _tell(
                    runtime,
                    other_id,
                    "proposal_accepted.html",
                    txn_id("proposal-accepted", str(proposal_id)),
                ),
                "proposal accepted",
            )
        runtime.wake(jobs.ROOMS)
    else:
        await reply("proposal_yes_waiting.html")


def _ask_for_round(runtime: BotRuntime, *person_ids: int) -> None:
    """The people of a proposal that ended are free again: place them, and ask for a round."""
    runtime.wake(jobs.ROUND, person_ids=person_ids)


async def _tell(runtime: BotRuntime, matrix_id: str, template: str, txn: str) -> None:
    await runtime.send_direct(matrix_id, template, txn=txn)


# Delivery -------------------------------------------------------------------------------


def ref(proposal_id: int, side: str) -> str:
    """What the question to one side is part of, in the outbox."""
    return f"{REF}:{proposal_id}:{side}"


async def record_question(session: AsyncSession, ref: str, event_id: str) -> None:
    """The question went out: from now on its answer is awaited (set once; a reminder
    or a repeat on a new device keeps the first)."""
    _, number, side = ref.split(":")
    proposal = await session.get(Proposal, int(number))
    if proposal is not None and getattr(proposal, f"{side}_event_id") is None:
        setattr(proposal, f"{side}_event_id", event_id)


async def _ask(
    runtime: BotRuntime,
    proposal: Proposal,
    side: str,
    me: Person,
    other: Person,
    *,
    kind: str = "proposal",
    txn: str | None = None,
) -> None:
    """Ask one side (``kind``: the question, its reminder, or again on a new device).

    The question waits in the outbox until the person has a device to read it on.
    """
    lang = await runtime.language_of(me.matrix_id)
    values: dict[str, Any] = {
        "name": first_name(other),
        "age_band": age_band(other.birth_year, runtime.clock.now().year),
        "role": other.role,
        "about": other.about,
        "reasons": explain(reasons_of(proposal), lang),
        "reminder": kind == "proposal-reminder",
    }
    if kind == "proposal-again":
        values["question"], template = "proposal.html", "asked_again.html"
    else:
        template = "proposal.html"
    await runtime.send_direct(
        me.matrix_id,
        template,
        txn=txn or txn_id(kind, str(proposal.id), side),
        ref=ref(proposal.id, side),
        subjects=[other.matrix_id],
        **values,
    )


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """Someone signed in on a new device: their open question, asked again there."""
    found = await _open_for(runtime, matrix_id)
    if found is None:
        return
    me, proposal, side = found
    async with runtime.db.session() as session:
        other = await session.get(Person, getattr(proposal, f"{'b' if side == 'a' else 'a'}_id"))
    if other is None:
        return
    await _ask(
        runtime,
        proposal,
        side,
        me,
        other,
        kind="proposal-again",
        txn=txn_id("proposal-again", str(proposal.id), side, *device_ids),
    )


async def deliver_once(runtime: BotRuntime) -> None:
    """Send what the tables say is due: new questions, reminders, lapses, suggestions."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        due = (
            await session.scalars(
                select(Proposal)
                .where(Proposal.state.in_(("asked", "suggested")))
                .order_by(Proposal.id)
            )
        ).all()
        people = {
            p.id: p
            for p in (
                await session.scalars(
                    select(Person).where(
                        Person.id.in_({x for pr in due for x in (pr.a_id, pr.b_id)})
                    )
                )
            ).all()
        }
    for proposal in due:
        try:
            await _deliver(runtime, proposal, people, now)
        except Exception:
            # One person who cannot be reached now (their organisation's server is
            # down) holds up nobody else; the table still says what is due, so the
            # next step tries again.
            log.warning(
                "could not deliver a proposal yet",
                exc_info=True,
                extra={"bot": runtime.bot.name, "proposal": proposal.id},
            )


async def _deliver(
    runtime: BotRuntime, proposal: Proposal, people: dict[int, Person], now: datetime
) -> None:
    settings = runtime.settings.matching
    a, b = people.get(proposal.a_id), people.get(proposal.b_id)
    if a is None or b is None:
        return
    if proposal.state == "suggested":
        if proposal.coordinator_event_id is None and runtime.coordinators_room_id:
            await _suggest(runtime, proposal, a, b)
        return
    asked_at = proposal.asked_at or proposal.created_at
    if now >= asked_at + timedelta(hours=settings.expire_after_hours):
        await _expire(runtime, proposal, a, b, now)
        return
    for side, me, other in (("a", a, b), ("b", b, a)):
        if getattr(proposal, f"{side}_event_id") is None:
            # Posting again is harmless: one row per transaction ID.
            await _ask(runtime, proposal, side, me, other)
    if proposal.reminded_at is None and now >= asked_at + timedelta(
        hours=settings.remind_after_hours
    ):
        for side, me, other in (("a", a, b), ("b", b, a)):
            # Only who has had the question and not answered: someone who has
            # not signed in yet gets the question, not a reminder on top of it.
            if getattr(proposal, f"{side}_answer") is None and getattr(
                proposal, f"{side}_event_id"
            ):
                await _ask(runtime, proposal, side, me, other, kind="proposal-reminder")
        async with runtime.db.session() as session:
            row = await session.get(Proposal, proposal.id)
            if row is not None:
                row.reminded_at = now


async def _suggest(runtime: BotRuntime, proposal: Proposal, a: Person, b: Person) -> None:
    assert runtime.coordinators_room_id is not None
    lang = runtime.settings.language
    await runtime.post(
        runtime.coordinators_room_id,
        "proposal_suggested.html",
        lang,
        txn=txn_id("proposal-suggested", str(proposal.id)),
        readers=None,
        subjects=[a.matrix_id, b.matrix_id],
        ref=f"{SUGGESTION_REF}:{proposal.id}",
        number=proposal.id,
        a=a,
        b=b,
        score=f"{proposal.score:.1f}",
        reasons=explain(reasons_of(proposal), lang),
    )


async def record_suggestion(session: AsyncSession, ref: str, event_id: str) -> None:
    """The suggestion is in the coordinators' room: a ✅ or ❌ on it decides."""
    proposal = await session.get(Proposal, int(ref.split(":")[1]))
    if proposal is not None:
        proposal.coordinator_event_id = event_id


async def _expire(
    runtime: BotRuntime, proposal: Proposal, a: Person, b: Person, now: datetime
) -> None:
    async with runtime.db.session() as session:
        row = await session.get(Proposal, proposal.id)
        if row is None or row.state != "asked":
            return
        row.state, row.decided_at = "expired", now
    # A question still waiting for someone to sign in is no use now.
    await runtime.outbox.cancel([ref(proposal.id, "a"), ref(proposal.id, "b")])
    # Only those who said yes are told it lapsed; nobody learns who did not answer.
    for side, person in (("a", a), ("b", b)):
        if getattr(proposal, f"{side}_answer") == "yes":
            await runtime.send_direct(
                person.matrix_id,
                "proposal_off.html",
                txn=txn_id("proposal-expired", str(proposal.id), side),
            )
    _ask_for_round(runtime, proposal.a_id, proposal.b_id)


async def on_start(runtime: BotRuntime) -> None:
    runtime.outbox.on_sent(REF, record_question)
    runtime.outbox.on_sent(SUGGESTION_REF, record_suggestion)
    runtime.spawn_worker(WORKER, lambda: deliver_once(runtime), every_s=30)
