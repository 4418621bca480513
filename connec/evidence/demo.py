"""A made-up population for trying the evidence report: ``connec demo data``.

Citizens, like-minded citizens and volunteers who signed up over the last two years,
their friendships, booked visits and loneliness answers, drawn from a seeded random
generator so every run makes the same people. They live on ``demo.invalid``, a server
that cannot exist, so the bots never greet, match or ask them (``real_person()``).

It only ever runs on a data folder for trying connec: one whose settings name no
public address and no PostgreSQL, and whose database holds no real citizens or
volunteers yet. Anything else is refused in words; there is no flag to force it.
Running it again changes nothing. Everything is written in one transaction, so an
interrupted run leaves nothing behind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connec.db import Database, migrate
from connec.models import Booking, Match, Person, Proposal, WellbeingAnswer, real_person
from connec.people import DEMO_SERVER, MATCHABLE_ROLES
from connec.settings import Settings

DAYS_BACK = 730
MUNICIPALITIES = (("Aarhus", 300), ("Odder", 40))
"""Where the made-up citizens live, and how many: Odder shows that a coordinator of
Aarhus sees Aarhus alone."""
INTERESTS = ("gardening", "jazz", "knitting", "football", "history", "cooking", "birds", "travel")


class NotForDemo(Exception):
    """This data folder may hold real people: the demo refuses, saying why."""


@dataclass(frozen=True)
class Seeded:
    people: int
    friendships: int
    answers: int
    already: bool = False


def refusal(settings: Settings) -> str | None:
    """Why this data folder must not get made-up people, or None when it may."""
    signs = []
    if settings.synapse.public_url:
        signs.append(f"synapse.public_url is {settings.synapse.public_url}")
    if settings.portal.public_url:
        signs.append(f"portal.public_url is {settings.portal.public_url}")
    if settings.synapse.postgres_dsn or (
        settings.database_url and not settings.database_url.startswith("sqlite")
    ):
        signs.append("it uses PostgreSQL")
    if signs:
        return (
            f"{settings.data_dir} looks like a deployment that serves people ("
            + "; ".join(signs)
            + "). Made-up people are only added to a data folder for trying connec, "
            "e.g. `connec init --data-dir var-demo`."
        )
    return None


def _items(total: int, rng: random.Random) -> tuple[int, int, int]:
    """Three answers of 1-3 that add up to ``total`` (3-9)."""
    items = [1, 1, 1]
    for _ in range(total - 3):
        free = [i for i in range(3) if items[i] < 3]
        items[rng.choice(free)] += 1
    return items[0], items[1], items[2]


def _person(
    role: str, n: int, municipality: str | None, created_at: datetime, rng: random.Random
) -> Person:
    age = rng.randint(20, 70) if role == "volunteer" else int(min(96, max(58, rng.gauss(77, 8))))
    return Person(
        matrix_id=f"@demo-{role}-{n}:{DEMO_SERVER}",
        role=role,
        display_name=f"Demo {role} {n}",
        created_at=created_at,
        birth_year=created_at.year - age,
        municipality=municipality,
        languages=["da"],
        interest_keys=rng.sample(INTERESTS, 3),
        contact_modes=["chat", "voice"],
        availability=["tue-am", "thu-pm"],
        capacity=2 if role == "volunteer" else 1,
        approval="approved",
        profile_complete=True,
    )


async def seed_demo(settings: Settings, *, now: datetime | None = None, seed: int = 16) -> Seeded:
    """Add the made-up population to this data folder's database (see the module's words)."""
    reason = refusal(settings)
    if reason:
        raise NotForDemo(reason)
    migrate(settings.db_url)
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    db = Database(settings.db_url)
    try:
        async with db.session() as session:
            real = await session.scalar(
                select(func.count())
                .select_from(Person)
                .where(Person.role.in_(MATCHABLE_ROLES), real_person())
            )
            if real:
                raise NotForDemo(
                    f"{settings.data_dir} already holds {real} real citizens or volunteers; "
                    "made-up people are never mixed with them."
                )
            made = await session.scalar(
                select(func.count())
                .select_from(Person)
                .where(Person.matrix_id.like(f"%:{DEMO_SERVER}"))
            )
            if made:
                return Seeded(int(made), 0, 0, already=True)
            return await _fill(session, now, rng)
    finally:
        await db.close()


async def _fill(session: AsyncSession, now: datetime, rng: random.Random) -> Seeded:
    start = now - timedelta(days=DAYS_BACK)

    def moment(earliest: datetime, latest: datetime) -> datetime:
        span = max(0.0, (latest - earliest).total_seconds())
        return earliest + timedelta(seconds=rng.uniform(0, span))

    volunteers = [
        _person(
            "volunteer",
            n,
            rng.choice([m for m, _ in MUNICIPALITIES] + [None]),
            moment(start, now - timedelta(days=20)),
            rng,
        )
        for n in range(1, 181)
    ]
    session.add_all(volunteers)
    citizens: list[Person] = []
    n = 0
    for municipality, count in MUNICIPALITIES:
        for _ in range(count):
            n += 1
            role = "peer" if rng.random() < 0.15 else "citizen"
            citizens.append(
                _person(role, n, municipality, moment(start, now - timedelta(days=3)), rng)
            )
    session.add_all(citizens)
    await session.flush()

    friendships = answers = 0
    for citizen in citizens:
        if citizen.created_at > now - timedelta(days=7) or rng.random() < 0.12:
            continue  # still waiting for a first proposal
        asked_at = citizen.created_at + timedelta(days=rng.gammavariate(2.0, 7.0))
        if asked_at > now:
            continue
        friend = rng.choice(volunteers)
        yes = rng.random() < 0.88
        decided_at = asked_at + timedelta(days=rng.uniform(0.2, 4))
        proposal = Proposal(
            a_id=citizen.id,
            b_id=friend.id,
            score=round(rng.uniform(0.4, 0.9), 2),
            state="accepted" if yes else "declined",
            created_at=asked_at - timedelta(hours=rng.uniform(1, 48)),
            asked_at=asked_at,
            decided_at=decided_at,
        )
        session.add(proposal)
        await session.flush()
        if not yes:
            if rng.random() < 0.5:
                citizen.state = "paused"  # wants a break before the next proposal
            continue
        introduced = decided_at + timedelta(hours=rng.uniform(0.1, 12))
        if introduced > now:
            continue
        # About a quarter of friendships end within half a year, fewer after.
        lasts = timedelta(days=rng.expovariate(1 / 700))
        ended = introduced + lasts if introduced + lasts < now else None
        match = Match(
            proposal_id=proposal.id,
            a_id=citizen.id,
            b_id=friend.id,
            state="ended" if ended else "introduced",
            created_at=decided_at,
            introduced_at=introduced,
            last_activity_at=min(now, ended or now),
            ended_at=ended,
        )
        session.add(match)
        await session.flush()
        friendships += 1
        if ended is not None and rng.random() < 0.6:
            citizen.state = "ended"  # many leave the service when a friendship ends
        until = ended or now
        if rng.random() < 0.55:  # a weekly visit, kept until the friendship ends
            session.add(
                Booking(
                    match_id=match.id,
                    room_id=f"!demo-{match.id}:{DEMO_SERVER}",
                    booked_by=citizen.matrix_id,
                    starts_at=introduced + timedelta(days=rng.uniform(2, 10)),
                    weekly=True,
                    state="done" if ended is None else "cancelled",
                    confirmed_by=friend.matrix_id,
                    created_at=introduced,
                    updated_at=until,
                )
            )
        at = introduced + timedelta(days=rng.uniform(2, 9))
        while at < until:
            session.add(
                Booking(
                    match_id=match.id,
                    room_id=f"!demo-{match.id}:{DEMO_SERVER}",
                    booked_by=friend.matrix_id,
                    starts_at=at,
                    state="done",
                    confirmed_by=citizen.matrix_id,
                    created_at=at - timedelta(days=2),
                    updated_at=at,
                )
            )
            at += timedelta(days=rng.uniform(7, 30))
        # Loneliness: higher at the start, easing for many over the first months.
        base = min(9.0, max(3.0, rng.gauss(6.9, 1.3)))
        ease = rng.uniform(0.0, 1.8)
        asked = introduced + timedelta(days=1)
        while asked < min(until + timedelta(days=1), now):
            months = (asked - introduced).days / 30.4
            score = round(base - ease * min(1.0, months / 6) + rng.gauss(0, 0.5))
            total = min(9, max(3, score))
            answered = asked + timedelta(hours=rng.uniform(0.2, 30))
            if answered < now and (asked == introduced + timedelta(days=1) or rng.random() < 0.85):
                c, lo, i = _items(total, rng)
                session.add(
                    WellbeingAnswer(
                        person_id=citizen.id,
                        asked_at=asked,
                        answered_at=answered,
                        companionship=c,
                        left_out=lo,
                        isolated=i,
                    )
                )
                answers += 1
            asked += timedelta(days=90)
    return Seeded(len(citizens) + len(volunteers), friendships, answers)
