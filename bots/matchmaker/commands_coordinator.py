"""The coordinators' room: what coordinators ask of the matchmaker, and what they change.

Every command here works only in the coordinators' room and only for coordinators
(power 50 or more there); the runtime refuses anyone else before a handler runs.
Commands that only show something answer at once. Commands that change or end
something ask first (:mod:`bots.matchmaker.asking`): each supplies only how it finds
what it is about and, under ``@command.act``, what its confirmation does.

Every coordinator action is written to the audit table as ``coordinator.<command>``
with its outcome (shown, asked, done, cancelled, expired, failed, invalid): IDs
only, never message bodies, reasons or other personal words.

Handlers are thin: read the rows, decide with :mod:`bots.matchmaker.coordination`,
call the matching, proposal and room functions, render a template.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import nio
from babel.dates import format_datetime
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Permission, Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import asking, concerns, jobs, matching, proposals, rooms
from bots.matchmaker.asking import (
    Asking,
    Outcome,
    asks_first,
    audit,
    cannot,
    command_key,
    mark,
    usage,
)
from bots.matchmaker.coordination import (
    ACTIVE_MATCH_STATES,
    OPEN_PROPOSAL_STATES,
    PAUSED_MATCH_STATE,
    Answer,
    PersonFacts,
    References,
    answer_of_reaction,
    command_args,
    read_references,
    status_counts,
    waiting_for_match,
)
from bots.matchmaker.profiles import to_profile
from bots.matchmaker.reasons import explain
from bots.matchmaker.scoring import interest_weights, score
from bots.matchmaker.table import COMMANDS
from connec.federation import is_reachable, server_of
from connec.models import (
    Concern,
    DirectRoom,
    Match,
    PendingAction,
    Person,
    Proposal,
)
from connec.people import MATCHABLE_ROLES
from connec.secrets import load_secrets
from connec.synapse_admin import SynapseAdmin

log = logging.getLogger(__name__)

# Longer lists are cut, with a count of the rest: the room is read on phones too.
LIST_LIMIT = 25
NOT_ENDED = (*ACTIVE_MATCH_STATES, PAUSED_MATCH_STATE)


@dataclass(frozen=True)
class PersonView:
    """A person as coordinators see them in a message."""

    name: str
    matrix_id: str
    role: str
    since: str = ""


@dataclass(frozen=True)
class ProposalView:
    """A proposal as coordinators see it: the pair, its score and its reasons in words."""

    number: int
    a: PersonView
    b: PersonView
    state: str
    score: str
    reasons: str
    since: str = ""


@dataclass(frozen=True)
class ConcernView:
    """An open concern as coordinators see it: who, about which match, in whose words."""

    number: int
    reporter: PersonView | None
    reporter_id: str | None
    match: concerns.MatchView | None
    source: str
    text: str
    since: str


# Commands that show ------------------------------------------------------------------


@COMMANDS.command(
    "status",
    da="status",
    en="status",
    help="Numbers at a glance: people, waiting, proposals, matches, concerns",
    permission=Permission.COORDINATOR,
    where=Where.COORDINATORS_ROOM,
)
async def status_command(ctx: MessageContext) -> None:
    """`!status`: counts of people by role, waiting, proposals, matches, open concerns."""
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        people = [_facts(p) for p in await _matchable_people(session)]
        matches = (
            await session.execute(
                select(Match.a_id, Match.b_id, Match.state).where(Match.state.in_(NOT_ENDED))
            )
        ).all()
        open_proposals = (
            await session.execute(
                select(Proposal.a_id, Proposal.b_id, Proposal.state).where(
                    Proposal.state.in_(OPEN_PROPOSAL_STATES)
                )
            )
        ).all()
        open_concerns = await session.scalar(
            select(func.count()).select_from(Concern).where(Concern.state == "open")
        )
        counts = status_counts(
            people,
            [(a, b, state) for a, b, state in matches],
            [(a, b, state) for a, b, state in open_proposals],
            open_concerns or 0,
        )
        audit(session, runtime, ctx.sender, "status", "shown")
    await ctx.reply(
        "coordinator_status.html",
        counts=counts,
        requires_approval=runtime.settings.matching.requires_approval,
        words=_words(ctx.lang),
    )
    await mark(runtime, ctx.room.room_id, ctx.event.event_id, ok=True)


@COMMANDS.command(
    "pending",
    da=("ventende",),
    en=("pending", "waiting"),
    help="Who is waiting: volunteers to approve, people without a match, open proposals",
    permission=Permission.COORDINATOR,
    where=Where.COORDINATORS_ROOM,
)
async def pending_command(ctx: MessageContext) -> None:
    """`!ventende`: volunteers awaiting approval, people waiting for a match, open proposals."""
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        people = await _matchable_people(session)
        holding: Counter[int] = Counter()
        for a_id, b_id in (
            await session.execute(select(Match.a_id, Match.b_id).where(Match.state.in_(NOT_ENDED)))
        ).all():
            holding.update((a_id, b_id))
        open_rows = (
            await session.scalars(
                select(Proposal)
                .where(Proposal.state.in_(OPEN_PROPOSAL_STATES))
                .order_by(Proposal.id)
            )
        ).all()
        in_proposal = {pid for p in open_rows for pid in (p.a_id, p.b_id)}
        waiting_ids = set(waiting_for_match([_facts(p) for p in people], holding, in_proposal))
        awaiting = [
            _view(runtime, p, ctx.lang)
            for p in people
            if p.role == "volunteer" and p.approval == "pending"
        ]
        waiting = [_view(runtime, p, ctx.lang) for p in people if p.id in waiting_ids]
        open_proposals = [await _proposal_view(session, runtime, p, ctx.lang) for p in open_rows]
        audit(session, runtime, ctx.sender, "pending", "shown")
    await ctx.reply(
        "coordinator_pending.html",
        awaiting=awaiting[:LIST_LIMIT],
        awaiting_more=max(0, len(awaiting) - LIST_LIMIT),
        waiting=waiting[:LIST_LIMIT],
        waiting_more=max(0, len(waiting) - LIST_LIMIT),
        proposals=open_proposals[:LIST_LIMIT],
        proposals_more=max(0, len(open_proposals) - LIST_LIMIT),
        words=_words(ctx.lang),
    )
    await mark(runtime, ctx.room.room_id, ctx.event.event_id, ok=True)


@COMMANDS.command(
    "concerns",
    da=("bekymringer",),
    en=("concerns",),
    help="Open concerns, oldest first",
    permission=Permission.COORDINATOR,
    where=Where.COORDINATORS_ROOM,
)
async def concerns_command(ctx: MessageContext) -> None:
    """`!bekymringer`: the open concerns, each with who raised it and its match."""
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        rows = (
            await session.scalars(
                select(Concern).where(Concern.state == "open").order_by(Concern.id)
            )
        ).all()
        views = [await _concern_view(session, runtime, c, ctx.lang) for c in rows]
        audit(session, runtime, ctx.sender, "concerns", "shown")
    await ctx.reply(
        "coordinator_concerns.html",
        concerns=views[:LIST_LIMIT],
        more=max(0, len(views) - LIST_LIMIT),
        words=_words(ctx.lang),
    )
    await mark(runtime, ctx.room.room_id, ctx.event.event_id, ok=True)


# Commands that change: each finds what it is about, then asks ---------------------------


@asks_first(
    "approve",
    da="godkend",
    en="approve",
    help="Approve a volunteer so they can be matched (asks first)",
    args="<@volunteer>",
)
async def approve_command(ctx: MessageContext) -> Asking | None:
    """`!godkend @frivillig`; with a number, `!godkend 7` approves suggestion 7."""
    return await _volunteer_decision(ctx, already="approved")


@approve_command.act
async def _approve(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    lang = _lang(runtime, pending)
    async with runtime.db.session() as session:
        person = await session.get(Person, _number(pending, "person_id"))
    if person is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    if not await _has_account(runtime, person.matrix_id):
        # A portal sign-up: the account is made when approved on the portal.
        view = _view(runtime, person, lang)
        return Outcome(False, "coordinator_problem.html", {"problem": "no_account", "person": view})
    async with runtime.db.session() as session:
        person = await session.get(Person, _number(pending, "person_id"))
        if person is None:
            return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
        if person.approval != "approved":
            person.approval, person.approved_by = "approved", pending.requested_by
            person.rejection_reason = None
        has_room = await session.scalar(
            select(DirectRoom.id).where(
                DirectRoom.bot == runtime.bot.name, DirectRoom.matrix_id == person.matrix_id
            )
        )
    view = _view(runtime, person, lang)

    def after() -> None:
        if has_room is None:
            # Not met yet: the welcome worker opens the direct room and greets them.
            runtime.wake(jobs.WELCOME)
        else:
            runtime.spawn(
                runtime.send_direct(
                    person.matrix_id,
                    "coordinator_approved_greeting.html",
                    txn=txn_id("volunteer-approved", person.matrix_id, str(pending.id)),
                ),
                "greet approved volunteer",
            )
        runtime.wake(jobs.ROUND, person_ids=[person.id], tell=True)

    return Outcome(True, "coordinator_result.html", {"result": "approved", "person": view}, after)


async def _has_account(runtime: BotRuntime, matrix_id: str) -> bool:
    """Whether a local person has a Matrix account (federated people always do)."""
    if not matrix_id.endswith(":" + runtime.settings.synapse.server_name):
        return True
    secrets = load_secrets(runtime.settings.paths.secrets)
    async with SynapseAdmin(
        runtime.settings.synapse.url, admin_token=secrets.admin_access_token
    ) as admin:
        return await admin.get_user(matrix_id) is not None


@asks_first(
    "reject",
    da="afvis",
    en="reject",
    help="Turn down a volunteer's sign-up (asks first)",
    args="<@volunteer> [reason]",
)
async def reject_command(ctx: MessageContext) -> Asking | None:
    """`!afvis @frivillig [begrundelse]`; with a number, `!afvis 7` rejects suggestion 7."""
    return await _volunteer_decision(ctx, already="rejected")


@reject_command.act
async def _reject(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        person = await session.get(Person, _number(pending, "person_id"))
        if person is None:
            return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
        person.approval = "rejected"
        person.rejection_reason = _text(pending.params.get("reason"))
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(True, "coordinator_result.html", {"result": "rejected", "person": view})


async def _volunteer_decision(ctx: MessageContext, *, already: str) -> Asking | None:
    """`!godkend` and `!afvis`: a number means a suggested pair, otherwise a volunteer,
    whose decision is asked about first (a reason may follow a rejection)."""
    key = command_key(ctx)
    refs = _references(ctx, people=1, number=True)
    if refs.number is not None:
        return await _suggestion(ctx, refs.number, action=f"{key}-proposal")
    if key == "approve" and await _beyond_federation(ctx, refs):
        return None
    person = await _one_person(ctx, refs)
    if person is None:
        return None
    view = _view(ctx.runtime, person, ctx.lang)
    if person.role != "volunteer":
        await cannot(ctx, "not_volunteer", person=view)
        return None
    if person.approval == already:
        await cannot(ctx, f"already_{already}", person=view)
        return None
    params: dict[str, Any] = {"person_id": person.id}
    what: dict[str, Any] = {"person": view}
    if key == "reject":
        params["reason"], what["reason"] = refs.rest or None, refs.rest
    return Asking(what, params, subject=person.matrix_id, person_id=person.id)


@asks_first(
    "approve-proposal",
    da=("godkend-forslag",),
    en=("approve-proposal", "approve-suggestion"),
    help="Let a suggested pair be asked, after seeing score and reasons (asks first)",
    args="<number>",
)
async def approve_proposal_command(ctx: MessageContext) -> Asking | None:
    """`!godkend-forslag 7`."""
    return await _numbered_suggestion(ctx)


@approve_proposal_command.act
async def _approve_proposal(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _decide_proposal(runtime, pending, yes=True)


@asks_first(
    "reject-proposal",
    da=("afvis-forslag",),
    en=("reject-proposal", "reject-suggestion"),
    help="Let a suggested pair go: nobody is asked, and it is not suggested again (asks first)",
    args="<number>",
)
async def reject_proposal_command(ctx: MessageContext) -> Asking | None:
    """`!afvis-forslag 7`."""
    return await _numbered_suggestion(ctx)


@reject_proposal_command.act
async def _reject_proposal(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _decide_proposal(runtime, pending, yes=False)


async def _numbered_suggestion(ctx: MessageContext) -> Asking | None:
    refs = _references(ctx, people=0, number=True)
    if refs.number is None:
        await usage(ctx)
        return None
    return await _suggestion(ctx, refs.number)


async def _suggestion(ctx: MessageContext, number: int, action: str | None = None) -> Asking | None:
    """A suggested pair, by its number, as the question shows it."""
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        proposal = await session.get(Proposal, number)
        view = await _proposal_view(session, runtime, proposal, ctx.lang) if proposal else None
    if proposal is None or view is None:
        await cannot(ctx, "unknown_proposal", action, number=number)
        return None
    if proposal.state != "suggested":
        await cannot(ctx, "not_suggested", action, number=number)
        return None
    return Asking(
        {"proposal": view}, {"proposal_id": number}, subject=f"proposal:{number}", action=action
    )


async def _decide_proposal(runtime: BotRuntime, pending: PendingAction, yes: bool) -> Outcome:
    number = _number(pending, "proposal_id")
    decide = proposals.approve if yes else proposals.reject
    decided = await decide(runtime, number, pending.requested_by)
    if decided is None:
        async with runtime.db.session() as session:
            proposal = await session.get(Proposal, number)
        if proposal is not None and proposal.state == ("asked" if yes else "rejected"):
            decided = proposal  # decided before a restart: the same outcome
        else:
            return Outcome(
                False, "coordinator_problem.html", {"problem": "not_suggested", "number": number}
            )
    result = "proposal_approved" if yes else "proposal_rejected"
    return Outcome(True, "coordinator_result.html", {"result": result, "number": number})


@asks_first(
    "match",
    da="match",
    en="match",
    help="Propose two people to each other yourself; both must still say yes (asks first)",
    args="<@person> <@person>",
)
async def match_command(ctx: MessageContext) -> Asking | None:
    """`!match @a @b`: a manual proposal, asked of both at once once confirmed."""
    runtime = ctx.runtime
    refs = _references(ctx, people=2)
    if refs.bad:
        await cannot(ctx, "unknown_person", ident=refs.bad[0])
        return None
    if len(refs.people) != 2:
        await usage(ctx)
        return None
    if refs.people[0] == refs.people[1]:
        await cannot(ctx, "same_person")
        return None
    if await _beyond_federation(ctx, refs):
        return None
    async with runtime.db.session() as session:
        found = [await _person(session, matrix_id) for matrix_id in refs.people]
        first, second = found
        pair = _in_order(first, second) if first and second else None
        existing = await _between(session, *pair) if pair else None
    if pair is None:
        unknown = next(m for m, p in zip(refs.people, found, strict=True) if p is None)
        await cannot(ctx, "unknown_person", ident=unknown)
        return None
    a, b = pair
    views = {"a": _view(runtime, a, ctx.lang), "b": _view(runtime, b, ctx.lang)}
    for person in pair:
        problem = _unmatchable(person)
        if problem is not None:
            await cannot(ctx, problem, person=_view(runtime, person, ctx.lang))
            return None
    if {a.role, b.role} in ({"volunteer"}, {"citizen"}):
        await cannot(ctx, "wrong_pair", **views)
        return None
    if existing is not None:
        kind, number = existing
        await cannot(ctx, kind, number=number, **views)
        return None
    profiles = [to_profile(a), to_profile(b)]
    fit = score(*profiles, weights=interest_weights(profiles), today_year=runtime.clock.now().year)
    return Asking(
        {
            **views,
            "fits": fit is not None,
            "score": f"{fit.value:.1f}" if fit else "",
            "reasons": explain(fit.reasons, ctx.lang) if fit else "",
        },
        {"a_id": a.id, "b_id": b.id},
        subject=f"{a.matrix_id} {b.matrix_id}",
    )


def _unmatchable(person: Person) -> str | None:
    """Why a person cannot be proposed now, or None."""
    if person.role not in MATCHABLE_ROLES:
        return "not_matchable"
    if person.role == "volunteer" and person.approval != "approved":
        return "not_approved"
    if person.state != "active":
        return "not_active"
    return None


@match_command.act
async def _match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        a = await session.get(Person, _number(pending, "a_id"))
        b = await session.get(Person, _number(pending, "b_id"))
        existing = await _between(session, a, b) if a and b else None
    if a is None or b is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    lang = _lang(runtime, pending)
    views = {"a": _view(runtime, a, lang), "b": _view(runtime, b, lang)}
    if existing is not None:
        # Made before a restart, or by someone else meanwhile: never a second one.
        return Outcome(
            existing[0] == "open_proposal",
            "coordinator_problem.html",
            {"problem": existing[0], "number": existing[1], **views},
        )
    proposal = await proposals.create_manual_proposal(runtime, a, b, pending.requested_by)
    return Outcome(
        True,
        "coordinator_result.html",
        {"result": "proposal_made", "number": proposal.id, **views},
    )


@asks_first(
    "run-matching",
    da=("kør-matching",),
    en=("run-matching",),
    help="Run a matching round now (asks first)",
)
async def run_matching_command(ctx: MessageContext) -> Asking | None:
    """`!kør-matching`."""
    return Asking({"needs_approval": ctx.runtime.settings.matching.requires_approval})


@run_matching_command.act
async def _run_matching(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    lang = _lang(runtime, pending)
    result = await matching.run_round_now(runtime)
    async with runtime.db.session() as session:
        views = [
            await _proposal_view(session, runtime, p, lang) for p in result.proposals[:LIST_LIMIT]
        ]
    return Outcome(
        True,
        "coordinator_result.html",
        {
            "result": "round_done",
            "considered": result.considered,
            "proposals": views,
            "more": max(0, result.proposed - LIST_LIMIT),
            "needs_approval": result.needs_approval,
        },
    )


@asks_first(
    "pause-person",
    da=("pause", "pause-person", "pausér"),
    en=("pause", "pause-person"),
    help="Pause a person: no new proposals until resumed (asks first)",
    args="<@person>",
)
async def pause_person_command(ctx: MessageContext) -> Asking | None:
    """`!pause-person @x`: the person gets no new proposals; their matches go on."""
    return await _person_state(ctx, want="paused")


@pause_person_command.act
async def _pause_person(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    person, _ = await _set_person_state(runtime, pending, "paused")
    if person is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(True, "coordinator_result.html", {"result": "person_paused", "person": view})


@asks_first(
    "resume-person",
    da=("fortsæt", "fortsæt-person"),
    en=("resume", "resume-person"),
    help="Let a paused person be matched again (asks first)",
    args="<@person>",
)
async def resume_person_command(ctx: MessageContext) -> Asking | None:
    """`!fortsæt-person @x`."""
    return await _person_state(ctx, want="active")


@resume_person_command.act
async def _resume_person(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    person, _ = await _set_person_state(runtime, pending, "active")
    if person is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(
        True,
        "coordinator_result.html",
        {"result": "person_resumed", "person": view},
        lambda: runtime.wake(jobs.ROUND, person_ids=[person.id], tell=True),
    )


async def _person_state(ctx: MessageContext, *, want: str) -> Asking | None:
    person = await _one_person(ctx, _references(ctx, people=1))
    if person is None:
        return None
    view = _view(ctx.runtime, person, ctx.lang)
    if person.state == "ended":
        await cannot(ctx, "person_ended", person=view)
        return None
    if person.state == want:
        await cannot(ctx, "already_" + want, person=view)
        return None
    return Asking(
        {"person": view}, {"person_id": person.id}, subject=person.matrix_id, person_id=person.id
    )


async def _set_person_state(
    runtime: BotRuntime, pending: PendingAction, want: str
) -> tuple[Person | None, bool]:
    async with runtime.db.session() as session:
        person = await session.get(Person, _number(pending, "person_id"))
        if person is None:
            return None, False
        changed = person.state != want and person.state != "ended"
        if changed:
            person.state = want
    return person, changed


@asks_first(
    "end-match",
    da=("afslut-match",),
    en=("end-match",),
    help="End a match: both are thanked and offered a new match (asks first)",
    args="<match number or @person> [reason]",
)
async def end_match_command(ctx: MessageContext) -> Asking | None:
    """`!afslut-match 7 [begrundelse]` or `!afslut-match @x [begrundelse]`."""
    found = await _one_match(ctx)
    if found is None:
        return None
    match, what, reason = found
    return Asking(
        {**what, "reason": reason},
        {"match_id": match.id, "reason": reason or None},
        subject=f"match:{match.id}",
    )


@end_match_command.act
async def _end_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        match = await session.get(Match, _number(pending, "match_id"))
    if match is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    await rooms.end_match(runtime, match, pending.requested_by, _text(pending.params.get("reason")))
    return Outcome(True, "coordinator_result.html", {"result": "match_ended", "number": match.id})


@asks_first(
    "pause-match",
    da=("pause-match",),
    en=("pause-match",),
    help="Pause a match: reminders and nudges stop, the room stays (asks first)",
    args="<match number or @person>",
)
async def pause_match_command(ctx: MessageContext) -> Asking | None:
    """`!pause-match 7`: for a worry that needs looking into before the pair goes on."""
    return await _match_in_state(ctx, "introduced")


@pause_match_command.act
async def _pause_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _pause_or_resume_match(runtime, pending, paused=True)


@asks_first(
    "resume-match",
    da=("fortsæt-match",),
    en=("resume-match",),
    help="Let a paused match go on (asks first)",
    args="<match number or @person>",
)
async def resume_match_command(ctx: MessageContext) -> Asking | None:
    """`!fortsæt-match 7`."""
    return await _match_in_state(ctx, PAUSED_MATCH_STATE)


@resume_match_command.act
async def _resume_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _pause_or_resume_match(runtime, pending, paused=False)


async def _match_in_state(ctx: MessageContext, state: str) -> Asking | None:
    found = await _one_match(ctx, states=(state,))
    if found is None:
        return None
    match, what, _ = found
    return Asking(what, {"match_id": match.id}, subject=f"match:{match.id}")


async def _pause_or_resume_match(
    runtime: BotRuntime, pending: PendingAction, paused: bool
) -> Outcome:
    async with runtime.db.session() as session:
        match = await session.get(Match, _number(pending, "match_id"))
    if match is None or match.state == "ended":
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    await rooms.set_paused(runtime, match, pending.requested_by, paused)
    result = "match_paused" if paused else "match_resumed"
    return Outcome(True, "coordinator_result.html", {"result": result, "number": match.id})


@asks_first(
    "resolved",
    da=("løst",),
    en=("resolved",),
    help="Mark a concern as dealt with (asks first)",
    args="<number>",
)
async def resolved_command(ctx: MessageContext) -> Asking | None:
    """`!løst 3`."""
    runtime = ctx.runtime
    refs = _references(ctx, people=0, number=True)
    if refs.number is None:
        await usage(ctx)
        return None
    async with runtime.db.session() as session:
        concern = await session.get(Concern, refs.number)
        view = await _concern_view(session, runtime, concern, ctx.lang) if concern else None
    if concern is None or view is None:
        await cannot(ctx, "unknown_concern", number=refs.number)
        return None
    if concern.state != "open":
        await cannot(ctx, "concern_handled", number=concern.id)
        return None
    return Asking(
        {"concern": view},
        {"concern_id": concern.id},
        subject=f"concern:{concern.id}",
        person_id=concern.reporter_id,
    )


@resolved_command.act
async def _resolved(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        concern = await session.get(Concern, _number(pending, "concern_id"))
        if concern is None:
            return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
        if concern.state == "open":
            concern.state = "handled"
            concern.handled_by = pending.requested_by
            concern.handled_at = runtime.clock.now()
    return Outcome(
        True, "coordinator_result.html", {"result": "concern_resolved", "number": concern.id}
    )


# Answers: a yes to a question (asking.py), or a ✅ on a suggestion ------------------------


on_text = asking.on_text


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """✅ or ❌ on a question of ours, or on a suggested pair shown in the room."""
    if await asking.on_reaction(runtime, room, event):
        return True
    if room.room_id != runtime.coordinators_room_id:
        return False
    answer = answer_of_reaction(event.key)
    if answer is None:
        return False
    async with runtime.db.session() as session:
        suggestion = await session.scalar(
            select(Proposal).where(Proposal.coordinator_event_id == event.reacts_to)
        )
    if suggestion is None:
        return False
    await _decide_suggestion(runtime, room, suggestion.id, event, answer)
    return True


async def _decide_suggestion(
    runtime: BotRuntime,
    room: nio.MatrixRoom,
    proposal_id: int,
    event: nio.ReactionEvent,
    answer: Answer,
) -> None:
    """A suggestion shown with its score and reasons is its own question: ✅ asks the
    pair, ❌ lets it go."""
    if not runtime.is_coordinator(event.sender, room):
        return
    yes = answer == "yes"
    decided = await (proposals.approve if yes else proposals.reject)(
        runtime, proposal_id, event.sender
    )
    if decided is None:
        return  # already decided: a second reaction changes nothing
    key = "approve-proposal" if yes else "reject-proposal"
    async with runtime.db.session() as session:
        audit(session, runtime, event.sender, key, "done", subject=f"proposal:{proposal_id}")
    await runtime.send(
        room.room_id,
        "coordinator_result.html",
        runtime.settings.language,
        txn=txn_id(event.event_id, "settle"),
        result="proposal_approved" if yes else "proposal_rejected",
        number=proposal_id,
    )


# Reading commands and rows --------------------------------------------------------------


async def _beyond_federation(ctx: MessageContext, refs: References) -> bool:
    """Whether a person named is on a server this one does not federate with (after
    saying so): they could never be invited into a room, so nothing is started."""
    synapse = ctx.runtime.settings.synapse
    for matrix_id in refs.people:
        if not is_reachable(matrix_id, synapse):
            await cannot(
                ctx,
                "not_federated",
                ident=matrix_id,
                server=server_of(matrix_id),
                allowed=", ".join(synapse.federation_allowlist),
            )
            return True
    return False


def _references(ctx: MessageContext, *, people: int, number: bool = False) -> References:
    formatted = getattr(ctx.event, "formatted_body", None)
    args = command_args(ctx.body, formatted) if formatted else ctx.args
    return read_references(
        args, ctx.runtime.settings.synapse.server_name, people=people, number=number
    )


async def _one_person(ctx: MessageContext, refs: References) -> Person | None:
    """The one person a command names, or None after saying what is wrong."""
    if refs.bad:
        await cannot(ctx, "unknown_person", ident=refs.bad[0])
        return None
    if len(refs.people) != 1:
        await usage(ctx)
        return None
    async with ctx.runtime.db.session() as session:
        person = await _person(session, refs.people[0])
    if person is None:
        await cannot(ctx, "unknown_person", ident=refs.people[0])
    return person


async def _one_match(
    ctx: MessageContext, states: tuple[str, ...] = NOT_ENDED
) -> tuple[Match, dict[str, Any], str] | None:
    """The match a command names (by number, or as a person's one match), its people as
    the question shows them, and the words after it; None after saying what is wrong."""
    runtime = ctx.runtime
    refs = _references(ctx, people=1, number=True)
    if refs.bad:
        await cannot(ctx, "unknown_person", ident=refs.bad[0])
        return None
    match: Match | None = None
    a = b = None
    reason: str = "usage"
    values: dict[str, Any] = {}
    async with runtime.db.session() as session:
        if refs.number is not None:
            match = await session.get(Match, refs.number)
            reason, values = "unknown_match", {"number": refs.number}
        elif refs.people:
            person = await _person(session, refs.people[0])
            reason, values = "unknown_person", {"ident": refs.people[0]}
            if person is not None:
                views = await concerns.matches_of(session, person)
                if len(views) == 1:
                    match = await session.get(Match, views[0].number)
                reason = "no_match" if not views else "several_matches"
                values = {"person": _view(runtime, person, ctx.lang), "matches": views}
        if match is not None:
            a = await session.get(Person, match.a_id)
            b = await session.get(Person, match.b_id)
    if match is None:
        if reason == "usage":
            await usage(ctx)
        else:
            await cannot(ctx, reason, **values)
        return None
    what: dict[str, Any] = {
        "number": match.id,
        "a": _view(runtime, a, ctx.lang) if a else None,
        "b": _view(runtime, b, ctx.lang) if b else None,
    }
    if match.state not in states:
        await cannot(ctx, "match_state", state=match.state, **what)
        return None
    return match, what, refs.rest


async def _person(session: AsyncSession, matrix_id: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.matrix_id == matrix_id))


async def _matchable_people(session: AsyncSession) -> list[Person]:
    return list(
        (
            await session.scalars(
                select(Person).where(Person.role.in_(MATCHABLE_ROLES)).order_by(Person.id)
            )
        ).all()
    )


def _in_order(a: Person, b: Person) -> tuple[Person, Person]:
    """The citizen first, as matching stores pairs; two peers by id."""
    rank = {"citizen": 0, "peer": 1, "volunteer": 2}
    return (a, b) if (rank.get(a.role, 3), a.id) <= (rank.get(b.role, 3), b.id) else (b, a)


async def _between(session: AsyncSession, a: Person, b: Person) -> tuple[str, int] | None:
    """Why two people cannot be proposed again: an open proposal, a match, or a past no."""
    pair = or_(
        (Proposal.a_id == a.id) & (Proposal.b_id == b.id),
        (Proposal.a_id == b.id) & (Proposal.b_id == a.id),
    )
    open_ = await session.scalar(
        select(Proposal.id).where(pair, Proposal.state.in_(OPEN_PROPOSAL_STATES))
    )
    if open_ is not None:
        return "open_proposal", open_
    match = await session.scalar(
        select(Match.id).where(
            or_(
                (Match.a_id == a.id) & (Match.b_id == b.id),
                (Match.a_id == b.id) & (Match.b_id == a.id),
            )
        )
    )
    if match is not None:
        return "matched_before", match
    closed = await session.scalar(
        select(Proposal.id).where(pair, Proposal.state.not_in((*OPEN_PROPOSAL_STATES, "accepted")))
    )
    if closed is not None:
        return "tried_before", closed
    return None


def _facts(person: Person) -> PersonFacts:
    return PersonFacts(
        person_id=person.id,
        role=person.role,
        state=person.state,
        approval=person.approval,
        capacity=person.capacity or 1,
        profile_complete=person.profile_complete,
    )


def _when(runtime: BotRuntime, moment: datetime | None, lang: str) -> str:
    if moment is None:
        return ""
    return format_datetime(moment, "short", tzinfo=ZoneInfo(runtime.settings.timezone), locale=lang)


def _view(runtime: BotRuntime, person: Person, lang: str) -> PersonView:
    return PersonView(
        name=person.display_name or person.matrix_id,
        matrix_id=person.matrix_id,
        role=person.role,
        since=_when(runtime, person.created_at, lang),
    )


async def _proposal_view(
    session: AsyncSession, runtime: BotRuntime, proposal: Proposal, lang: str
) -> ProposalView | None:
    a = await session.get(Person, proposal.a_id)
    b = await session.get(Person, proposal.b_id)
    if a is None or b is None:
        return None
    return ProposalView(
        number=proposal.id,
        a=_view(runtime, a, lang),
        b=_view(runtime, b, lang),
        state=proposal.state,
        score=f"{proposal.score:.1f}",
        reasons=explain(proposals.reasons_of(proposal), lang),
        since=_when(runtime, proposal.asked_at or proposal.created_at, lang),
    )


async def _concern_view(
    session: AsyncSession, runtime: BotRuntime, concern: Concern, lang: str
) -> ConcernView:
    reporter_id = await concerns.reporter_of(session, concern)
    reporter = await _person(session, reporter_id) if reporter_id else None
    match_view = None
    if concern.match_id is not None:
        match = await session.get(Match, concern.match_id)
        if match is not None:
            # The other person, as the reporter sees it; for a concern the scheduler
            # raised (no reporter), the second of the pair.
            other_id = match.b_id if reporter is None or match.a_id == reporter.id else match.a_id
            other = await session.get(Person, other_id)
            match_view = concerns.MatchView(
                number=match.id,
                other_name=(other.display_name or other.matrix_id) if other else "?",
                other_id=other.matrix_id if other else "?",
                room_id=match.room_id,
                paused=match.state == PAUSED_MATCH_STATE,
            )
    return ConcernView(
        number=concern.id,
        reporter=_view(runtime, reporter, lang) if reporter else None,
        reporter_id=reporter_id,
        match=match_view,
        source=concern.source,
        text=concern.text,
        since=_when(runtime, concern.created_at, lang),
    )


def _words(lang: str) -> dict[str, str]:
    """Command names in the coordinator's language, for the hints in messages."""
    names: dict[str, str] = {}
    for command in COMMANDS.commands:
        names[command.key] = command.name(lang)
    return names


def _lang(runtime: BotRuntime, pending: PendingAction) -> str:
    return str((pending.params or {}).get("lang") or runtime.settings.language)


def _number(pending: PendingAction, name: str) -> int:
    """A row id the command stored for its confirmation."""
    return int(str(pending.params[name]))


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None
