"""The coordinators' room, as plain functions: who a command names, what counts as
a yes or a no, when a question has expired, who is waiting, what the counts are.

No network and no database: :mod:`bots.matchmaker.commands_coordinator` reads the
rows, calls these, and sends what they decide.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Literal

from connec.people import MATCHABLE_ROLES

# How long a coordinator's question stays open; after that the command must be given again.
PENDING_LIFETIME = timedelta(minutes=10)

# Match states in which two people are (still) in touch, and the one where they rest.
ACTIVE_MATCH_STATES = ("accepted", "room_created", "invited", "introduced")
PAUSED_MATCH_STATE = "paused"
# Proposals waiting for a coordinator, and those waiting for the two people.
OPEN_PROPOSAL_STATES = ("suggested", "asked")

Answer = Literal["yes", "no"]

# Reactions: Element's quick reactions and the ones people reach for.
CONFIRM_KEYS = frozenset({"✅", "✔️", "✔", "☑️", "👍", "👍️"})
CANCEL_KEYS = frozenset({"❌", "✖️", "✖", "❎", "👎", "👎️", "🚫"})
# Replies, in Danish and English, folded to lower case without punctuation.
YES_WORDS = frozenset(
    {"ja", "jep", "jo", "j", "ok", "okay", "bekræft", "bekraeft", "yes", "y", "yep", "confirm"}
)
NO_WORDS = frozenset(
    {"nej", "n", "annuller", "annullér", "fortryd", "stop", "no", "nope", "cancel", "abort"}
)

# A Matrix user ID's localpart (the spec's historical grammar, which Synapse accepts).
_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
_SERVER = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$")
_PILL = re.compile(r"^https://matrix\.to/#/(@[^/?#]+)")


def answer_of_text(text: str) -> Answer | None:
    """ "ja", "Yes!", "✅" are a yes; "nej", "cancel", "❌" a no; anything else neither."""
    word = text.strip()
    if word in CONFIRM_KEYS:
        return "yes"
    if word in CANCEL_KEYS:
        return "no"
    word = word.strip(" .!,:;").casefold()
    if word in YES_WORDS:
        return "yes"
    if word in NO_WORDS:
        return "no"
    return None


def answer_of_reaction(key: str) -> Answer | None:
    """✅ (and its kin) confirms, ❌ (and its kin) cancels; other reactions say nothing."""
    key = key.strip()
    if key in CONFIRM_KEYS:
        return "yes"
    if key in CANCEL_KEYS:
        return "no"
    return None


def strip_reply_fallback(body: str) -> str:
    """A reply's own words, without the quoted "> <@x> ..." lines older clients put first."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).strip()


def replied_to(content: Mapping[str, object]) -> str | None:
    """The event a message replies to (``m.relates_to.m.in_reply_to``), if any."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping):
        return None
    reply = relates.get("m.in_reply_to")
    if isinstance(reply, Mapping) and isinstance(reply.get("event_id"), str):
        return str(reply["event_id"])
    return None


class _Depiller(HTMLParser):
    """HTML to text, with each user pill written as the Matrix ID it links to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_pill = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(" ")
        if tag == "a":
            found = _PILL.match(dict(attrs).get("href") or "")
            if found:
                self.parts.append(f" {html.unescape(found.group(1))} ")
                self._in_pill = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_pill = False

    def handle_data(self, data: str) -> None:
        if not self._in_pill:
            self.parts.append(data)


def depill(formatted_body: str) -> str:
    """The words of an HTML message, with Element's mention pills as Matrix IDs.

    Element shows ``@karen:connec.dk`` as a pill reading "Karen" and sends the
    display name in the plain body; only the link in the HTML names the person.
    """
    parser = _Depiller()
    parser.feed(formatted_body)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def command_args(body: str, formatted_body: str | None) -> str:
    """What follows the command word, with pills resolved when the message has HTML."""
    text = depill(formatted_body) if formatted_body else body
    _, _, rest = text.strip().partition(" ")
    return rest.strip()


def matrix_id_of(token: str, server_name: str) -> str | None:
    """``@karen:connec.dk``, ``@karen`` or ``karen`` as a full Matrix ID; None if not one.

    A bare localpart is on this deployment's own server.
    """
    token = token.strip().strip(",;").rstrip(".")
    if not token:
        return None
    localpart, colon, server = token.removeprefix("@").partition(":")
    localpart = localpart.lower()
    if not _LOCALPART.match(localpart):
        return None
    if colon:
        if not _SERVER.match(server):
            return None
        return f"@{localpart}:{server}"
    return f"@{localpart}:{server_name}"


@dataclass(frozen=True)
class References:
    """A command's arguments read as people (Matrix IDs), a number, and free words."""

    people: tuple[str, ...] = ()
    number: int | None = None
    rest: str = ""
    bad: tuple[str, ...] = ()  # tokens that looked like a person but are not a Matrix ID


def read_references(
    args: str, server_name: str, *, people: int, number: bool = False
) -> References:
    """Read ``args`` as up to ``people`` people, or (if ``number``) a leading number such
    as ``7`` or ``#7``; whatever follows is free words (a reason)."""
    tokens = args.split()
    if number and tokens:
        bare = tokens[0].lstrip("#").rstrip(".,;:")
        if bare.isdecimal() and len(bare) <= 9:  # int() refuses thousands of digits
            return References(number=int(bare), rest=" ".join(tokens[1:]))
    found: list[str] = []
    bad: list[str] = []
    index = 0
    while index < len(tokens) and len(found) + len(bad) < people:
        matrix_id = matrix_id_of(tokens[index], server_name)
        if matrix_id is None:
            bad.append(tokens[index])
        else:
            found.append(matrix_id)
        index += 1
    return References(tuple(found), None, " ".join(tokens[index:]), tuple(bad))


def is_expired(created_at: datetime, now: datetime, lifetime: timedelta = PENDING_LIFETIME) -> bool:
    """Whether a question asked at ``created_at`` can no longer be answered."""
    return now - created_at > lifetime


def may_confirm(requested_by: str, sender: str) -> bool:
    """Only the coordinator who gave a command may confirm or cancel it."""
    return requested_by == sender


@dataclass(frozen=True)
class PersonFacts:
    """What deciding "waiting for a match" needs to know about one person."""

    person_id: int
    role: str
    state: str = "active"
    approval: str = "approved"
    capacity: int = 1
    profile_complete: bool = True


def free_places(person: PersonFacts, active_matches: int) -> int:
    """How many more matches a person can take: a volunteer's capacity, one for others."""
    capacity = max(1, person.capacity) if person.role == "volunteer" else 1
    return max(0, capacity - active_matches)


def is_matchable(person: PersonFacts) -> bool:
    """Active, a citizen, peer or approved volunteer, and done telling about themselves."""
    return (
        person.state == "active"
        and person.role in MATCHABLE_ROLES
        and (person.role != "volunteer" or person.approval == "approved")
        and person.profile_complete
    )


def waiting_for_match(
    people: Iterable[PersonFacts],
    active_matches: Mapping[int, int],
    in_open_proposal: Iterable[int],
) -> list[int]:
    """The ids of people who could take a match now and have no proposal open.

    ``active_matches`` counts each person's matches that are not ended (paused ones
    too: a paused friendship still holds its place).
    """
    busy = set(in_open_proposal)
    return [
        person.person_id
        for person in people
        if is_matchable(person)
        and person.person_id not in busy
        and free_places(person, active_matches.get(person.person_id, 0)) > 0
    ]


@dataclass(frozen=True)
class StatusCounts:
    """The numbers `!status` shows."""

    active_by_role: Mapping[str, int] = field(default_factory=dict)
    paused_people: int = 0
    awaiting_approval: int = 0
    in_intake: int = 0
    waiting: int = 0
    proposals_suggested: int = 0
    proposals_asked: int = 0
    matches_active: int = 0
    matches_paused: int = 0
    concerns_open: int = 0


def status_counts(
    people: Iterable[PersonFacts],
    match_states: Iterable[tuple[int, int, str]],
    proposal_states: Iterable[tuple[int, int, str]],
    open_concerns: int,
) -> StatusCounts:
    """Count people, proposals, matches and concerns for `!status`.

    ``match_states`` and ``proposal_states`` are ``(a_id, b_id, state)`` triples.
    """
    everyone = list(people)
    matches = list(match_states)
    proposals = list(proposal_states)
    holding: Counter[int] = Counter()
    for a_id, b_id, state in matches:
        if state in (*ACTIVE_MATCH_STATES, PAUSED_MATCH_STATE):
            holding.update((a_id, b_id))
    open_ids = {
        person_id
        for a_id, b_id, state in proposals
        if state in OPEN_PROPOSAL_STATES
        for person_id in (a_id, b_id)
    }
    active = [p for p in everyone if p.state == "active" and p.role in MATCHABLE_ROLES]
    proposal_count = Counter(state for _, _, state in proposals)
    match_count = Counter(state for _, _, state in matches)
    return StatusCounts(
        active_by_role={role: sum(1 for p in active if p.role == role) for role in MATCHABLE_ROLES},
        paused_people=sum(1 for p in everyone if p.state == "paused" and p.role in MATCHABLE_ROLES),
        awaiting_approval=sum(
            1 for p in active if p.role == "volunteer" and p.approval == "pending"
        ),
        in_intake=sum(1 for p in active if not p.profile_complete),
        waiting=len(waiting_for_match(everyone, holding, open_ids)),
        proposals_suggested=proposal_count["suggested"],
        proposals_asked=proposal_count["asked"],
        matches_active=sum(match_count[state] for state in ACTIVE_MATCH_STATES),
        matches_paused=match_count[PAUSED_MATCH_STATE],
        concerns_open=open_concerns,
    )
