"""`connec bench federation`: a municipality and an organisation on two servers.

Two throw-away Synapses federating over TLS on loopback (connec/throwaway.py), and the
municipality's matchmaker running in this process. A citizen on the municipality's
server and a volunteer on the organisation's are proposed to each other and both say
yes; then they write to each other; then the organisation's server stops for a while
and the municipality's side keeps writing.

Printed: seconds from the second yes until the volunteer, on her own server, can read
the ice-breaker in the visit room; message latency across servers each way (send to
readable on the other side: p50, p95, max); and for the outage, how many messages
sent meanwhile arrived, how many twice, and how long after the server was back.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nio
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bots.common.runtime import BotRuntime
from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from connec.db import Database
from connec.models import Match, Person
from connec.settings import Settings
from connec.throwaway import Account, ThrowawaySynapse, federating_pair, start_pair

MESSAGES = 20
OUTAGE_MESSAGES = 10
PROPOSAL = "Har du lyst til at mødes"
ICE_BREAKER = "Velkommen"


class Phone:
    """One person's encrypting app and everything it has read, by room (each event
    once, by its ID, however it came: by sync or as history)."""

    def __init__(self, client: nio.AsyncClient) -> None:
        self.client = client
        self.read: dict[str, list[tuple[float, str]]] = {}
        self.seen: set[str] = set()

    @classmethod
    async def sign_in(cls, server: ThrowawaySynapse, account: Account, store: Path) -> Phone:
        await asyncio.to_thread(store.mkdir, parents=True)
        client = nio.AsyncClient(
            server.url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        client.restore_login(account.user_id, account.device_id, account.access_token)
        if client.should_upload_keys:
            await client.keys_upload()
        person = cls(client)
        await person.sync(0)
        return person

    async def sync(self, timeout_ms: int = 500) -> None:
        response = await self.client.sync(timeout=timeout_ms)
        if not isinstance(response, nio.SyncResponse):
            return
        now = time.monotonic()
        for room_id in response.rooms.invite:
            await self.client.join(room_id)
        for room_id, info in response.rooms.join.items():
            self._note(room_id, info.timeline.events, now)

    def _note(self, room_id: str, events: list[object], at: float) -> None:
        for event in events:
            if isinstance(event, nio.RoomMessageText) and event.event_id not in self.seen:
                self.seen.add(event.event_id)
                self.read.setdefault(room_id, []).append((at, event.body))

    async def history(self, room_id: str) -> None:
        """What was said before this server joined, as Element reads it on opening."""
        response = await self.client.room_messages(room_id, start=None, limit=30)
        if isinstance(response, nio.RoomMessagesResponse):
            self._note(room_id, list(reversed(response.chunk)), time.monotonic())

    def rooms_with(self, words: str) -> list[str]:
        return [r for r, texts in self.read.items() if any(words in t for _, t in texts)]

    async def until(self, check: object, seconds: float = 120.0, *, history: bool = False) -> float:
        """Sync until ``check()`` holds; answers when. With ``history``, each room's
        earlier words are read too (a room joined on another server)."""
        assert callable(check)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return time.monotonic()
            await self.sync()
            for room_id in list(self.client.rooms) if history else []:
                await self.history(room_id)
        raise TimeoutError("the bench waited in vain")

    async def say(self, room_id: str, text: str) -> float:
        sent = time.monotonic()
        response = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        assert isinstance(response, nio.RoomSendResponse), response
        return sent


async def _latencies(sender: Phone, reader: Phone, room_id: str, tag: str) -> list[float]:
    found = []
    for n in range(MESSAGES):
        words = f"{tag} {n}"
        sent = await sender.say(room_id, words)
        arrived = await reader.until(
            lambda w=words: any(t == w for _, t in reader.read.get(room_id, []))
        )
        found.append(arrived - sent)
    return found


async def run(console: Console, outage: float) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="connec-bench-federation-"))
    municipality, organisation = federating_pair(folder / "municipality", folder / "organisation")
    bot_task: asyncio.Task[None] | None = None
    people: list[Phone] = []
    try:
        started = time.monotonic()
        await start_pair((municipality, organisation))
        console.print(f"two federating Synapses ready in {time.monotonic() - started:.1f} s")
        db = Database(municipality.settings.db_url)
        karen_account = await municipality.register("karen")
        anna_account = await organisation.register("anna")
        async with db.session() as session:
            for account, role, born in (
                (karen_account, "citizen", 1948),
                (anna_account, "volunteer", 1985),
            ):
                session.add(
                    Person(
                        matrix_id=account.user_id,
                        role=role,
                        display_name=account.user_id[1:].split("-")[0].title(),
                        profile_complete=True,
                        approval="approved",
                        languages=["da"],
                        interest_keys=["gardening", "jazz"],
                        contact_modes=["chat"],
                        availability=["tue-am"],
                        birth_year=born,
                    )
                )
        karen = await Phone.sign_in(municipality, karen_account, folder / "karen")
        anna = await Phone.sign_in(organisation, anna_account, folder / "anna")
        people = [karen, anna]
        settings = municipality.settings.model_copy(
            update={
                "matching": municipality.settings.matching.model_copy(
                    update={"requires_approval": False}
                )
            }
        )
        runtime = BotRuntime(settings, Matchmaker())
        bot_task = asyncio.create_task(runtime.run())
        await asyncio.wait_for(runtime.ready.wait(), 60)
        await run_round(db, settings, datetime.now(UTC))
        runtime.wake("proposal delivery")

        for person in (karen, anna):
            await person.until(lambda p=person: p.rooms_with(PROPOSAL), history=True)
        await karen.say(karen.rooms_with(PROPOSAL)[0], "ja")
        second_yes = await anna.say(anna.rooms_with(PROPOSAL)[0], "ja")

        async def room_of_match() -> str | None:
            async with db.session() as session:
                match = await session.scalar(select(Match))
            return match.room_id if match and match.state == "introduced" else None

        room_id = None
        while room_id is None:
            room_id = await room_of_match()
            await anna.sync()
        read_at = await anna.until(lambda: room_id in anna.rooms_with(ICE_BREAKER), history=True)
        to_room = read_at - second_yes
        await karen.until(lambda: room_id in karen.client.rooms)

        to_organisation = await _latencies(karen, anna, room_id, "til Anna")
        to_municipality = await _latencies(anna, karen, room_id, "til Karen")

        await asyncio.to_thread(organisation.halt)
        went_down = time.monotonic()
        for n in range(OUTAGE_MESSAGES):
            await karen.say(room_id, f"mens serveren var nede {n}")
        await asyncio.sleep(max(0.0, outage - (time.monotonic() - went_down)))
        await asyncio.to_thread(organisation.resume)
        back = time.monotonic()
        down_for = back - went_down

        def outage_texts() -> list[str]:
            return [t for _, t in anna.read.get(room_id, []) if t.startswith("mens serveren")]

        try:
            all_there = await anna.until(
                lambda: len(set(outage_texts())) == OUTAGE_MESSAGES, seconds=180
            )
            caught_up: float | None = all_there - back
        except TimeoutError:
            caught_up = None
        await db.close()
    finally:
        for person in people:
            await person.client.close()
        if bot_task is not None:
            bot_task.cancel()
            await asyncio.gather(bot_task, return_exceptions=True)
        for server in (municipality, organisation):
            await server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    table = Table(title="Federation over TLS on loopback: a municipality and an organisation")
    table.add_column("what")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("max", justify="right")
    table.add_row(
        "second yes → ice-breaker readable on the other server", "", "", f"{to_room:.2f} s"
    )
    for label, values in (
        (f"message to the organisation ({MESSAGES})", to_organisation),
        (f"message to the municipality ({MESSAGES})", to_municipality),
    ):
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        table.add_row(
            label,
            f"{statistics.median(ordered) * 1000:.0f} ms",
            f"{p95 * 1000:.0f} ms",
            f"{ordered[-1] * 1000:.0f} ms",
        )
    console.print(table)
    received = outage_texts()
    console.print(
        f"outage: the organisation's server down {down_for:.0f} s; of {OUTAGE_MESSAGES} "
        f"messages sent meanwhile {len(set(received))} arrived, "
        f"{len(received) - len(set(received))} twice, "
        + (
            f"all {caught_up:.1f} s after it was back"
            if caught_up is not None
            else "not all within 180 s"
        )
    )
    return caught_up is not None and len(received) == OUTAGE_MESSAGES


def main(settings: Settings, console: Console, outage: float = 60.0) -> int:
    """The command's body (settings are not used: both servers are throw-away ones)."""
    logging.getLogger("nio").setLevel(logging.ERROR)  # its warnings are not figures
    return 0 if asyncio.run(run(console, outage)) else 1
