"""`connec bench first-contact`: from a first sign-in to the waiting welcome, readable.

A throw-away Synapse on loopback (connec/throwaway.py) and the matchmaker running in
this process. People are given accounts and profiles the way an import does, and the
matchmaker greets them all at once, before anyone has a device: every welcome waits in
its outbox. Then each person signs in for the first time with a fresh encrypting
client, accepts the matchmaker's invitation and waits for the welcome to decrypt.

Printed: how long from the password sign-in, and from tapping "Accept", until the
welcome could be read (p50, p95, max), and how many arrived readable (target: all).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nio
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bots.common.runtime import BotRuntime
from bots.matchmaker.bot import Matchmaker
from connec.db import Database
from connec.models import OutboxMessage, Person
from connec.settings import Settings
from connec.throwaway import ThrowawaySynapse

PEOPLE = 20
WELCOME = "velkommen til connec"


async def _first_sign_in(
    url: str, user_id: str, password: str, store: Path
) -> tuple[float, float, bool]:
    """Seconds from sign-in and from accepting to the welcome readable; and readable?"""
    await asyncio.to_thread(store.mkdir, parents=True)
    client = nio.AsyncClient(
        url,
        user_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    try:
        started = time.monotonic()
        login = await client.login(password, device_name="bench tablet")
        assert isinstance(login, nio.LoginResponse), login
        if client.should_upload_keys:
            await client.keys_upload()
        accepted = None
        deadline = started + 120
        while time.monotonic() < deadline:
            response = await client.sync(timeout=1000)
            if not isinstance(response, nio.SyncResponse):
                continue
            if accepted is None and response.rooms.invite:
                for room_id in response.rooms.invite:
                    await client.join(room_id)
                accepted = time.monotonic()
            for info in response.rooms.join.values():
                for event in info.timeline.events:
                    if isinstance(event, nio.RoomMessageText) and WELCOME in event.body:
                        now = time.monotonic()
                        return now - started, now - (accepted or now), True
        return time.monotonic() - started, 0.0, False
    finally:
        await client.close()


async def run(console: Console, people: int = PEOPLE) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="connec-bench-first-contact-"))
    stack = ThrowawaySynapse(folder / "data", server_name="bench.test")
    bot_task: asyncio.Task[None] | None = None
    try:
        await stack.start()
        db = Database(stack.settings.db_url)
        accounts = [await stack.register(f"borger{i}") for i in range(people)]
        async with db.session() as session:
            for i, account in enumerate(accounts):
                session.add(
                    Person(
                        matrix_id=account.user_id,
                        role="citizen",
                        display_name=f"Borger {i}",
                        profile_complete=True,
                        languages=["da"],
                        interest_keys=["gardening"],
                        contact_modes=["chat"],
                        availability=["tue-am"],
                        birth_year=1945,
                    )
                )
        runtime = BotRuntime(stack.settings, Matchmaker())
        bot_task = asyncio.create_task(runtime.run())
        await asyncio.wait_for(runtime.ready.wait(), 60)

        async def waiting() -> int:
            async with db.session() as session:
                return int(
                    await session.scalar(
                        select(func.count()).where(OutboxMessage.state == "waiting")
                    )
                    or 0
                )

        deadline = time.monotonic() + 120
        written = await waiting()
        while written < people and time.monotonic() < deadline:
            await asyncio.sleep(0.2)  # the bot's own tables are what it is waited on
            written = await waiting()
        results = [
            await _first_sign_in(stack.url, a.user_id, a.password, folder / f"person{i}")
            for i, a in enumerate(accounts)
        ]
        await db.close()
    finally:
        if bot_task is not None:
            bot_task.cancel()
            await asyncio.gather(bot_task, return_exceptions=True)
        await stack.stop()
        shutil.rmtree(folder, ignore_errors=True)

    read = [r for r in results if r[2]]
    table = Table(title=f"First contact: {people} people greeted before they ever signed in")
    table.add_column("from")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("max", justify="right")
    for label, values in (
        ("signing in → welcome readable", [r[0] for r in read]),
        ("accepting the invitation → welcome readable", [r[1] for r in read]),
    ):
        if values:
            ordered = sorted(values)
            p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
            table.add_row(
                label,
                f"{statistics.median(ordered):.2f} s",
                f"{p95:.2f} s",
                f"{ordered[-1]:.2f} s",
            )
    console.print(table)
    console.print(
        f"welcomes kept waiting before anyone signed in: {written} of {people}; "
        f"readable at first sign-in: {len(read)} of {people} (target: all)"
    )
    return written == people and len(read) == people


def main(settings: Settings, console: Console) -> int:
    """The command's body (settings are not used: the stack is a throw-away one)."""
    logging.getLogger("nio").setLevel(logging.ERROR)  # its warnings are not figures
    return 0 if asyncio.run(run(console)) else 1
