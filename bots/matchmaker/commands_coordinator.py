"""The coordinators' room: what coordinators ask of the matchmaker, and what they change.

Every command here works only in the coordinators' room and only for coordinators
(power 50 or more there); the runtime refuses anyone else before a handler runs.
Commands that only show something answer at once. Commands that change or end
something say what they will do and wait: the same coordinator confirms with "ja"
/ "yes" or a ✅ reaction on the question, or cancels with "nej" / "no" / ❌, within
ten minutes. The waiting command is a ``PendingAction`` row, so a restart keeps it.
The command itself gets ✅ when it was done and ❌ when it was not.

Every coordinator action is written to the audit table as ``coordinator.<command>``
with its outcome (shown, asked, done, cancelled, expired, failed, invalid): IDs
only, never message bodies, reasons or other personal words.

Handlers are thin: read the rows, decide with :mod:`bots.matchmaker.coordination`,
call the matching, proposal and room functions, render a template.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import nio
from babel.dates import format_datetime
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Permission, Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import concerns, matching, proposals, rooms, welcome
from bots.matchmaker.coordination import (
    ACTIVE_MATCH_STATES,
    OPEN_PROPOSAL_STATES,
    PAUSED_MATCH_STATE,
    PENDING_LIFETIME,
    Answer,
    PersonFacts,
    References,
    answer_of_reaction,
    answer_of_text,
    command_args,
    is_expired,
    may_confirm,
    read_references,
    replied_to,
    status_counts,
    strip_reply_fallback,
    waiting_for_match,
)
from bots.matchmaker.profiles import to_profile
from bots.matchmaker.reasons import explain
from bots.matchmaker.scoring import interest_weights, score
from bots.matchmaker.table import COMMANDS
from connec.models import (
    AuditEntry,
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

HERE = Where.COORDINATORS_ROOM
COORDINATOR = Permission.COORDINATOR
CONFIRM, CANCEL = "✅", "❌"
# Longer lists are cut, with a count of the rest: the room is read on phones too.
LIST_LIMIT = 25
NOT_ENDED = (*ACTIVE_MATCH_STATES, PAUSED_MATCH_STATE)
QUESTIONS_WORKER = "coordinator questions"


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


@dataclass
class Outcome:
    """What a confirmed action did: how to mark the command, what to say, what follows."""

    ok: bool
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    after: Callable[[], None] | None = None


Action = Callable[[BotRuntime, PendingAction], Awaitable[Outcome]]
ACTIONS: dict[str, Action] = {}


def _action(key: str) -> Callable[[Action], Action]:
    """Register what happens when the command ``key`` is confirmed."""

    def register(run: Action) -> Action:
        ACTIONS[key] = run
        return run

    return register


# Commands that show ------------------------------------------------------------------


@COMMANDS.command(
    "status",
    da="status",
    en="status",
    help="Numbers at a glance: people, waiting, proposals, matches, concerns",
    permission=COORDINATOR,
    where=HERE,
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
        _audit(session, runtime, ctx.sender, "status", "shown")
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
    permission=COORDINATOR,
    where=HERE,
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
        _audit(session, runtime, ctx.sender, "pending", "shown")
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
    permission=COORDINATOR,
    where=HERE,
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
        _audit(session, runtime, ctx.sender, "concerns", "shown")
    await ctx.reply(
        "coordinator_concerns.html",
        concerns=views[:LIST_LIMIT],
        more=max(0, len(views) - LIST_LIMIT),
        words=_words(ctx.lang),
    )
    await mark(runtime, ctx.room.room_id, ctx.event.event_id, ok=True)


# Commands that change: each checks, then asks ------------------------------------------


@COMMANDS.command(
    "approve",
    da="godkend",
    en="approve",
    help="Approve a volunteer so they can be matched (asks first)",
    args="<@volunteer>",
    permission=COORDINATOR,
    where=HERE,
)
async def approve_command(ctx: MessageContext) -> None:
    """`!godkend @frivillig`; with a number, `!godkend 7` approves suggestion 7."""
    await _decide_volunteer(ctx, "approve", already="approved")


@COMMANDS.command(
    "reject",
    da="afvis",
    en="reject",
    help="Turn down a volunteer's sign-up (asks first)",
    args="<@volunteer> [reason]",
    permission=COORDINATOR,
    where=HERE,
)
async def reject_command(ctx: MessageContext) -> None:
    """`!afvis @frivillig [begrundelse]`; with a number, `!afvis 7` rejects suggestion 7."""
    await _decide_volunteer(ctx, "reject", already="rejected")


async def _decide_volunteer(ctx: MessageContext, key: str, *, already: str) -> None:
    """`!godkend` and `!afvis`: a number means a suggested pair, otherwise a volunteer,
    whose decision is asked about first (a reason may follow a rejection)."""
    refs = _references(ctx, people=1, number=True)
    if refs.number is not None:
        await _ask_about_proposal(ctx, f"{key}-proposal", refs.number)
        return
    person = await _one_person(ctx, key, refs)
    if person is None:
        return
    view = _view(ctx.runtime, person, ctx.lang)
    if person.role != "volunteer":
        await cannot(ctx, key, "not_volunteer", person=view)
        return
    if person.approval == already:
        await cannot(ctx, key, f"already_{already}", person=view)
        return
    params: dict[str, Any] = {"person_id": person.id}
    what: dict[str, Any] = {"person": view}
    if key == "reject":
        params["reason"], what["reason"] = refs.rest or None, refs.rest
    await ask(ctx, key, subject=person.matrix_id, person_id=person.id, params=params, what=what)


@COMMANDS.command(
    "approve-proposal",
    da=("godkend-forslag",),
    en=("approve-proposal", "approve-suggestion"),
    help="Let a suggested pair be asked, after seeing score and reasons (asks first)",
    args="<number>",
    permission=COORDINATOR,
    where=HERE,
)
async def approve_proposal_command(ctx: MessageContext) -> None:
    """`!godkend-forslag 7`."""
    await _proposal_command(ctx, "approve-proposal")


@COMMANDS.command(
    "reject-proposal",
    da=("afvis-forslag",),
    en=("reject-proposal", "reject-suggestion"),
    help="Let a suggested pair go: nobody is asked, and it is not suggested again (asks first)",
    args="<number>",
    permission=COORDINATOR,
    where=HERE,
)
async def reject_proposal_command(ctx: MessageContext) -> None:
    """`!afvis-forslag 7`."""
    await _proposal_command(ctx, "reject-proposal")


@COMMANDS.command(
    "match",
    da="match",
    en="match",
    help="Propose two people to each other yourself; both must still say yes (asks first)",
    args="<@person> <@person>",
    permission=COORDINATOR,
    where=HERE,
)
async def match_command(ctx: MessageContext) -> None:
    """`!match @a @b`: a manual proposal, asked of both at once once confirmed."""
    runtime = ctx.runtime
    refs = _references(ctx, people=2)
    if refs.bad:
        await cannot(ctx, "match", "unknown_person", ident=refs.bad[0])
        return
    if len(refs.people) != 2:
        await _usage(ctx, "match")
        return
    if refs.people[0] == refs.people[1]:
        await cannot(ctx, "match", "same_person")
        return
    async with runtime.db.session() as session:
        found = [await _person(session, matrix_id) for matrix_id in refs.people]
        first, second = found
        pair = _in_order(first, second) if first and second else None
        existing = await _between(session, *pair) if pair else None
    if pair is None:
        unknown = next(m for m, p in zip(refs.people, found, strict=True) if p is None)
        await cannot(ctx, "match", "unknown_person", ident=unknown)
        return
    a, b = pair
    views = {"a": _view(runtime, a, ctx.lang), "b": _view(runtime, b, ctx.lang)}
    for person in pair:
        if person.role not in MATCHABLE_ROLES:
            await cannot(ctx, "match", "not_matchable", person=_view(runtime, person, ctx.lang))
            return
        if person.role == "volunteer" and person.approval != "approved":
            await cannot(ctx, "match", "not_approved", person=_view(runtime, person, ctx.lang))
            return
        if person.state != "active":
            await cannot(ctx, "match", "not_active", person=_view(runtime, person, ctx.lang))
            return
    if {a.role, b.role} in ({"volunteer"}, {"citizen"}):
        await cannot(ctx, "match", "wrong_pair", **views)
        return
    if existing is not None:
        kind, number = existing
        await cannot(ctx, "match", kind, number=number, **views)
        return
    profiles = [to_profile(a), to_profile(b)]
    fit = score(*profiles, weights=interest_weights(profiles), today_year=runtime.clock.now().year)
    await ask(
        ctx,
        "match",
        subject=f"{a.matrix_id} {b.matrix_id}",
        person_id=None,
        params={"a_id": a.id, "b_id": b.id},
        what={
            **views,
            "fits": fit is not None,
            "score": f"{fit.value:.1f}" if fit else "",
            "reasons": explain(fit.reasons, ctx.lang) if fit else "",
        },
    )


@COMMANDS.command(
    "run-matching",
    da=("kør-matching",),
    en=("run-matching",),
    help="Run a matching round now (asks first)",
    permission=COORDINATOR,
    where=HERE,
)
async def run_matching_command(ctx: MessageContext) -> None:
    """`!kør-matching`."""
    await ask(
        ctx,
        "run-matching",
        subject=None,
        person_id=None,
        params={},
        what={"needs_approval": ctx.runtime.settings.matching.requires_approval},
    )


@COMMANDS.command(
    "pause-person",
    da=("pause", "pause-person", "pausér"),
    en=("pause", "pause-person"),
    help="Pause a person: no new proposals until resumed (asks first)",
    args="<@person>",
    permission=COORDINATOR,
    where=HERE,
)
async def pause_person_command(ctx: MessageContext) -> None:
    """`!pause-person @x`: the person gets no new proposals; their matches go on."""
    await _person_state_command(ctx, "pause-person", want="paused")


@COMMANDS.command(
    "resume-person",
    da=("fortsæt", "fortsæt-person"),
    en=("resume", "resume-person"),
    help="Let a paused person be matched again (asks first)",
    args="<@person>",
    permission=COORDINATOR,
    where=HERE,
)
async def resume_person_command(ctx: MessageContext) -> None:
    """`!fortsæt-person @x`."""
    await _person_state_command(ctx, "resume-person", want="active")


@COMMANDS.command(
    "end-match",
    da=("afslut-match",),
    en=("end-match",),
    help="End a match: both are thanked and offered a new match (asks first)",
    args="<match number or @person> [reason]",
    permission=COORDINATOR,
    where=HERE,
)
async def end_match_command(ctx: MessageContext) -> None:
    """`!afslut-match 7 [begrundelse]` or `!afslut-match @x [begrundelse]`."""
    found = await _one_match(ctx, "end-match")
    if found is None:
        return
    match, what, reason = found
    await ask(
        ctx,
        "end-match",
        subject=f"match:{match.id}",
        person_id=None,
        params={"match_id": match.id, "reason": reason or None},
        what={**what, "reason": reason},
    )


@COMMANDS.command(
    "pause-match",
    da=("pause-match",),
    en=("pause-match",),
    help="Pause a match: reminders and nudges stop, the room stays (asks first)",
    args="<match number or @person>",
    permission=COORDINATOR,
    where=HERE,
)
async def pause_match_command(ctx: MessageContext) -> None:
    """`!pause-match 7`: for a worry that needs looking into before the pair goes on."""
    found = await _one_match(ctx, "pause-match", states=("introduced",))
    if found is None:
        return
    match, what, _ = found
    await ask(
        ctx,
        "pause-match",
        subject=f"match:{match.id}",
        person_id=None,
        params={"match_id": match.id},
        what=what,
    )


@COMMANDS.command(
    "resume-match",
    da=("fortsæt-match",),
    en=("resume-match",),
    help="Let a paused match go on (asks first)",
    args="<match number or @person>",
    permission=COORDINATOR,
    where=HERE,
)
async def resume_match_command(ctx: MessageContext) -> None:
    """`!fortsæt-match 7`."""
    found = await _one_match(ctx, "resume-match", states=(PAUSED_MATCH_STATE,))
    if found is None:
        return
    match, what, _ = found
    await ask(
        ctx,
        "resume-match",
        subject=f"match:{match.id}",
        person_id=None,
        params={"match_id": match.id},
        what=what,
    )


@COMMANDS.command(
    "resolved",
    da=("løst",),
    en=("resolved",),
    help="Mark a concern as dealt with (asks first)",
    args="<number>",
    permission=COORDINATOR,
    where=HERE,
)
async def resolved_command(ctx: MessageContext) -> None:
    """`!løst 3`."""
    runtime = ctx.runtime
    refs = _references(ctx, people=0, number=True)
    if refs.number is None:
        await _usage(ctx, "resolved")
        return
    async with runtime.db.session() as session:
        concern = await session.get(Concern, refs.number)
        view = await _concern_view(session, runtime, concern, ctx.lang) if concern else None
    if concern is None or view is None:
        await cannot(ctx, "resolved", "unknown_concern", number=refs.number)
        return
    if concern.state != "open":
        await cannot(ctx, "resolved", "concern_handled", number=concern.id)
        return
    await ask(
        ctx,
        "resolved",
        subject=f"concern:{concern.id}",
        person_id=concern.reporter_id,
        params={"concern_id": concern.id},
        what={"concern": view},
    )


# What a confirmation does --------------------------------------------------------------


@_action("approve")
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
            welcome.wake(runtime)
        else:
            runtime.spawn(
                runtime.send_direct(
                    person.matrix_id,
                    "coordinator_approved_greeting.html",
                    txn=txn_id("volunteer-approved", person.matrix_id, str(pending.id)),
                ),
                "greet approved volunteer",
            )
        matching.request_round(runtime, person_ids=[person.id], tell=True)

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


@_action("reject")
async def _reject(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        person = await session.get(Person, _number(pending, "person_id"))
        if person is None:
            return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
        person.approval = "rejected"
        person.rejection_reason = _text(pending.params.get("reason"))
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(True, "coordinator_result.html", {"result": "rejected", "person": view})


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


@_action("pause-person")
async def _pause_person(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    person, _ = await _set_person_state(runtime, pending, "paused")
    if person is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(True, "coordinator_result.html", {"result": "person_paused", "person": view})


@_action("resume-person")
async def _resume_person(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    person, _ = await _set_person_state(runtime, pending, "active")
    if person is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    view = _view(runtime, person, _lang(runtime, pending))
    return Outcome(
        True,
        "coordinator_result.html",
        {"result": "person_resumed", "person": view},
        lambda: matching.request_round(runtime, person_ids=[person.id], tell=True),
    )


@_action("match")
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


@_action("run-matching")
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


@_action("end-match")
async def _end_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    async with runtime.db.session() as session:
        match = await session.get(Match, _number(pending, "match_id"))
    if match is None:
        return Outcome(False, "coordinator_problem.html", {"problem": "gone"})
    await rooms.end_match(runtime, match, pending.requested_by, _text(pending.params.get("reason")))
    return Outcome(True, "coordinator_result.html", {"result": "match_ended", "number": match.id})


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


@_action("pause-match")
async def _pause_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _pause_or_resume_match(runtime, pending, paused=True)


@_action("resume-match")
async def _resume_match(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _pause_or_resume_match(runtime, pending, paused=False)


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


@_action("approve-proposal")
async def _approve_proposal(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _decide_proposal(runtime, pending, yes=True)


@_action("reject-proposal")
async def _reject_proposal(runtime: BotRuntime, pending: PendingAction) -> Outcome:
    return await _decide_proposal(runtime, pending, yes=False)


@_action("resolved")
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


# Confirmations: a reply or a reaction --------------------------------------------------


async def on_text(ctx: MessageContext) -> bool:
    """ "ja" / "nej" to a waiting question in the coordinators' room."""
    if ctx.where is not Where.COORDINATORS_ROOM:
        return False
    answer = answer_of_text(strip_reply_fallback(ctx.body))
    if answer is None:
        return False
    runtime = ctx.runtime
    question = replied_to(ctx.event.source.get("content", {}))
    async with runtime.db.session() as session:
        query = select(PendingAction).where(
            PendingAction.bot == runtime.bot.name, PendingAction.room_id == ctx.room.room_id
        )
        if question is not None:
            pending = await session.scalar(query.where(PendingAction.question_event_id == question))
        else:
            pending = await session.scalar(
                query.where(
                    PendingAction.requested_by == ctx.sender, PendingAction.state == "waiting"
                ).order_by(PendingAction.id.desc())
            )
    if pending is None:
        return False
    await settle(runtime, ctx.room, pending.id, ctx.sender, answer, ctx.event.event_id)
    return True


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """✅ or ❌ on a question of ours, or on a suggested pair shown in the room."""
    if room.room_id != runtime.coordinators_room_id:
        return False
    answer = answer_of_reaction(event.key)
    if answer is None:
        return False
    async with runtime.db.session() as session:
        pending = await session.scalar(
            select(PendingAction).where(
                PendingAction.bot == runtime.bot.name,
                PendingAction.question_event_id == event.reacts_to,
            )
        )
        suggestion = (
            None
            if pending is not None
            else await session.scalar(
                select(Proposal).where(Proposal.coordinator_event_id == event.reacts_to)
            )
        )
    if pending is not None:
        await settle(runtime, room, pending.id, event.sender, answer, event.event_id)
        return True
    if suggestion is not None:
        await _decide_suggestion(runtime, room, suggestion.id, event, answer)
        return True
    return False


async def settle(
    runtime: BotRuntime,
    room: nio.MatrixRoom,
    pending_id: int,
    sender: str,
    answer: Answer,
    answer_event_id: str,
) -> None:
    """Carry out, cancel or turn away the answer to a waiting command."""
    async with runtime.db.session() as session:
        pending = await session.get(PendingAction, pending_id)
    if pending is None or pending.state != "waiting" or not runtime.is_coordinator(sender, room):
        return
    lang = _lang(runtime, pending)
    room_id = pending.room_id

    async def say(template: str, **values: Any) -> None:
        await runtime.send(room_id, template, lang, txn=txn_id(answer_event_id, "settle"), **values)

    if not may_confirm(pending.requested_by, sender):
        async with runtime.db.session() as session:
            _audit(session, runtime, sender, pending.action, "refused", pending=pending.id)
        await say("coordinator_problem.html", problem="not_yours", ident=pending.requested_by)
        return
    now = runtime.clock.now()
    if is_expired(pending.created_at, now):
        if not await _close(runtime, pending, "expired"):
            return
        await say(
            "coordinator_problem.html",
            problem="expired",
            minutes=int(PENDING_LIFETIME.total_seconds() // 60),
        )
        await mark(runtime, room_id, pending.command_event_id, ok=False)
        return
    if answer == "no":
        if not await _close(runtime, pending, "cancelled"):
            return
        await say("coordinator_result.html", result="cancelled")
        await mark(runtime, room_id, pending.command_event_id, ok=False)
        return
    try:
        outcome = await ACTIONS[pending.action](runtime, pending)
    except Exception:
        log.exception(
            "coordinator action failed", extra={"bot": runtime.bot.name, "action": pending.action}
        )
        outcome = Outcome(False, "coordinator_problem.html", {"problem": "failed"})
    await _close(runtime, pending, "done" if outcome.ok else "failed")
    await say(outcome.template, **outcome.values)
    await mark(runtime, room_id, pending.command_event_id, ok=outcome.ok)
    if outcome.after is not None:
        outcome.after()


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
        _audit(session, runtime, event.sender, key, "done", subject=f"proposal:{proposal_id}")
    await runtime.send(
        room.room_id,
        "coordinator_result.html",
        runtime.settings.language,
        txn=txn_id(event.event_id, "settle"),
        result="proposal_approved" if yes else "proposal_rejected",
        number=proposal_id,
    )


async def expire_questions(runtime: BotRuntime) -> None:
    """Close the questions nobody answered in time: ❌ on their command, and a word why."""
    cutoff = runtime.clock.now() - PENDING_LIFETIME
    async with runtime.db.session() as session:
        stale = (
            await session.scalars(
                select(PendingAction).where(
                    PendingAction.bot == runtime.bot.name,
                    PendingAction.state == "waiting",
                    PendingAction.created_at < cutoff,
                )
            )
        ).all()
    for pending in stale:
        if not await _close(runtime, pending, "expired"):
            continue
        await runtime.send(
            pending.room_id,
            "coordinator_problem.html",
            _lang(runtime, pending),
            txn=txn_id(pending.command_event_id, "expired"),
            problem="expired",
            minutes=int(PENDING_LIFETIME.total_seconds() // 60),
        )
        await mark(runtime, pending.room_id, pending.command_event_id, ok=False)


async def on_start(runtime: BotRuntime) -> None:
    """Questions left open expire on their own, also those from before a restart."""
    runtime.spawn_worker(QUESTIONS_WORKER, lambda: expire_questions(runtime), every_s=60)


# Asking, marking, auditing -------------------------------------------------------------


async def ask(
    ctx: MessageContext,
    key: str,
    *,
    subject: str | None,
    person_id: int | None,
    params: dict[str, Any],
    what: dict[str, Any],
) -> None:
    """Store the command as waiting, and ask its coordinator to confirm it."""
    runtime = ctx.runtime
    room_id = ctx.room.room_id
    command_event = ctx.event.event_id
    async with runtime.db.session() as session:
        pending = await session.scalar(
            select(PendingAction).where(PendingAction.command_event_id == command_event)
        )
        if pending is None:
            pending = PendingAction(
                bot=runtime.bot.name,
                room_id=room_id,
                command_event_id=command_event,
                requested_by=ctx.sender,
                action=key,
                params={**params, "lang": ctx.lang, "subject": subject, "person_id": person_id},
                state="waiting",
                created_at=runtime.clock.now(),
            )
            session.add(pending)
            await session.flush()
            _audit(
                session,
                runtime,
                ctx.sender,
                key,
                "asked",
                subject=subject,
                person_id=person_id,
                pending=pending.id,
            )
    question = await runtime.send(
        room_id,
        "coordinator_confirm.html",
        ctx.lang,
        txn=txn_id(command_event, "question"),
        action=key,
        what=what,
        minutes=int(PENDING_LIFETIME.total_seconds() // 60),
    )
    if question is None:
        return
    async with runtime.db.session() as session:
        row = await session.get(PendingAction, pending.id)
        if row is not None:
            row.question_event_id = question
    # The two answers ready to click, so a coordinator need not find the emoji.
    for key_ in (CONFIRM, CANCEL):
        await runtime.react(room_id, question, key_)


async def cannot(ctx: MessageContext, key: str, reason: str, **values: Any) -> None:
    """Say kindly why a command cannot be done, mark it ❌, and record the attempt."""
    async with ctx.runtime.db.session() as session:
        _audit(session, ctx.runtime, ctx.sender, key, "invalid", problem=reason)
    await ctx.reply("coordinator_problem.html", problem=reason, **values)
    await mark(ctx.runtime, ctx.room.room_id, ctx.event.event_id, ok=False)


async def mark(runtime: BotRuntime, room_id: str, event_id: str, *, ok: bool) -> None:
    """✅ or ❌ on a command: done, or not done."""
    key = CONFIRM if ok else CANCEL
    await runtime.react(room_id, event_id, key)


def _audit(
    session: AsyncSession,
    runtime: BotRuntime,
    actor: str,
    key: str,
    outcome: str,
    *,
    subject: str | None = None,
    person_id: int | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEntry(
            at=runtime.clock.now(),
            actor=actor,
            action=f"coordinator.{key}",
            subject=subject,
            details={"outcome": outcome, **details},
            person_id=person_id,
        )
    )


async def _close(runtime: BotRuntime, pending: PendingAction, state: str) -> bool:
    """Record how a waiting command ended; False if something else already ended it."""
    async with runtime.db.session() as session:
        row = await session.get(PendingAction, pending.id)
        if row is None or row.state != "waiting":
            return False
        row.state = state
        params = row.params or {}
        person_id = params.get("person_id")
        _audit(
            session,
            runtime,
            row.requested_by,
            row.action,
            state,
            subject=_text(params.get("subject")),
            person_id=int(person_id) if isinstance(person_id, int) else None,
            pending=row.id,
        )
    return True


# Reading commands and rows --------------------------------------------------------------


def _references(ctx: MessageContext, *, people: int, number: bool = False) -> References:
    formatted = getattr(ctx.event, "formatted_body", None)
    args = command_args(ctx.body, formatted) if formatted else ctx.args
    return read_references(
        args, ctx.runtime.settings.synapse.server_name, people=people, number=number
    )


async def _usage(ctx: MessageContext, key: str) -> None:
    """How the command is written, from its declaration."""
    command = next(c for c in COMMANDS.commands if c.key == key)
    args = ctx.runtime.bot.messages.gettext(ctx.lang, command.args) if command.args else ""
    await cannot(ctx, key, "usage", command=command.name(ctx.lang), args=args)


async def _one_person(ctx: MessageContext, key: str, refs: References) -> Person | None:
    """The one person a command names, or None after saying what is wrong."""
    if refs.bad:
        await cannot(ctx, key, "unknown_person", ident=refs.bad[0])
        return None
    if len(refs.people) != 1:
        await _usage(ctx, key)
        return None
    async with ctx.runtime.db.session() as session:
        person = await _person(session, refs.people[0])
    if person is None:
        await cannot(ctx, key, "unknown_person", ident=refs.people[0])
    return person


async def _person_state_command(ctx: MessageContext, key: str, *, want: str) -> None:
    person = await _one_person(ctx, key, _references(ctx, people=1))
    if person is None:
        return
    view = _view(ctx.runtime, person, ctx.lang)
    if person.state == "ended":
        await cannot(ctx, key, "person_ended", person=view)
        return
    if person.state == want:
        await cannot(ctx, key, "already_" + want, person=view)
        return
    await ask(
        ctx,
        key,
        subject=person.matrix_id,
        person_id=person.id,
        params={"person_id": person.id},
        what={"person": view},
    )


async def _proposal_command(ctx: MessageContext, key: str) -> None:
    """`!godkend-forslag 7` and `!afvis-forslag 7`: the number, or how to write it."""
    refs = _references(ctx, people=0, number=True)
    if refs.number is None:
        await _usage(ctx, key)
        return
    await _ask_about_proposal(ctx, key, refs.number)


async def _ask_about_proposal(ctx: MessageContext, key: str, number: int) -> None:
    runtime = ctx.runtime
    async with runtime.db.session() as session:
        proposal = await session.get(Proposal, number)
        view = await _proposal_view(session, runtime, proposal, ctx.lang) if proposal else None
    if proposal is None or view is None:
        await cannot(ctx, key, "unknown_proposal", number=number)
        return
    if proposal.state != "suggested":
        await cannot(ctx, key, "not_suggested", number=number)
        return
    await ask(
        ctx,
        key,
        subject=f"proposal:{number}",
        person_id=None,
        params={"proposal_id": number},
        what={"proposal": view},
    )


async def _one_match(
    ctx: MessageContext, key: str, states: tuple[str, ...] = NOT_ENDED
) -> tuple[Match, dict[str, Any], str] | None:
    """The match a command names (by number, or as a person's one match), its people as
    the question shows them, and the words after it; None after saying what is wrong."""
    runtime = ctx.runtime
    refs = _references(ctx, people=1, number=True)
    if refs.bad:
        await cannot(ctx, key, "unknown_person", ident=refs.bad[0])
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
            await _usage(ctx, key)
        else:
            await cannot(ctx, key, reason, **values)
        return None
    what = {
        "number": match.id,
        "a": _view(runtime, a, ctx.lang) if a else None,
        "b": _view(runtime, b, ctx.lang) if b else None,
    }
    if match.state not in states:
        await cannot(ctx, key, "match_state", state=match.state, **what)
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
