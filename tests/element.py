"""A person on Element's own crypto stack, for stories that must not rest on nio.

``tests/element/person.mjs`` runs matrix-js-sdk with its Rust crypto (what Element
Web ships) under Node, with Element's "exclude insecure devices" on. This module
starts it as a person signing in with a password, sends it commands and keeps
everything it reports. A bot's message it cannot decrypt fails the test, as with
the nio clients (``tests.harness.Reader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness import CLOCK_SLACK_MS, KEY_GRACE, UnreadableMessage, eventually, is_bot

FOLDER = Path(__file__).parent / "element"
SCRIPT = FOLDER / "person.mjs"


def node_modules_ready() -> str | None:
    """Why the Element client cannot run here, or None when it can.

    ``make test`` installs it (``npm ci`` in tests/element); in CI a missing piece
    fails instead of skipping.
    """
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (FOLDER / "node_modules" / "matrix-js-sdk").is_dir():
        return "tests/element has no node_modules: run `npm ci --prefix tests/element`"
    return None


def require_element_client() -> None:
    missing = node_modules_ready()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Element client is needed in CI: {missing}")
    pytest.skip(missing)


class ElementPerson:
    """One person signed in on a fresh Element, for as long as the test needs."""

    def __init__(self, process: asyncio.subprocess.Process, user_id: str) -> None:
        self.process = process
        self.user_id = user_id
        self.device_id = ""
        self.reports: list[dict[str, Any]] = []
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0
        self._reading = asyncio.ensure_future(self._read())
        self._first_seen: dict[str, float] = {}
        self.device_made_at = 0  # ms since the epoch; older messages are history to it

    @classmethod
    async def sign_in(cls, homeserver: str, user_id: str, password: str) -> ElementPerson:
        require_element_client()
        signed_in_at = time.time()
        process = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            homeserver,
            user_id,
            password,
            cwd=FOLDER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        person = cls(process, user_id)
        person.device_made_at = int(signed_in_at * 1000) - CLOCK_SLACK_MS
        ready = await person.wait_for(lambda r: r["type"] == "ready", what="Element to sign in")
        person.device_id = ready["device_id"]
        return person

    async def _read(self) -> None:
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        async for line in self.process.stdout:
            report = json.loads(line)
            self.reports.append(report)
            if report.get("event_id") and report["type"] == "undecryptable":
                self._first_seen.setdefault(report["event_id"], loop.time())
            if report["type"] in ("done", "failed") and report["id"] in self._replies:
                self._replies.pop(report["id"]).set_result(report)

    async def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self._next += 1
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next] = reply
        self.process.stdin.write(
            json.dumps({"id": self._next, "cmd": cmd, **args}).encode() + b"\n"
        )
        await self.process.stdin.drain()
        answer = await asyncio.wait_for(reply, timeout=60)
        assert answer["type"] == "done", answer.get("error")
        return answer

    async def wait_for(self, match: Any, *, what: str, timeout: float = 60) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            self.check(grace=KEY_GRACE)
            if self.process.returncode is not None:
                raise AssertionError(f"the Element client stopped ({self.process.returncode})")
            return next((r for r in self.reports if match(r)), None)

        return await eventually(check, timeout=timeout, what=what)

    def latest(self) -> dict[str, dict[str, Any]]:
        """Each event as last reported (a message may fail first and open when its
        key comes)."""
        events: dict[str, dict[str, Any]] = {}
        for report in self.reports:
            if report["type"] in ("message", "undecryptable", "reaction"):
                events[report["event_id"]] = report
        return events

    def messages(self, room_id: str, sender: str | None = None) -> list[dict[str, Any]]:
        """Readable messages in a room, in the order they first came."""
        latest = self.latest()
        return [
            report
            for report in latest.values()
            if report["type"] == "message"
            and report["room"] == room_id
            and (sender is None or report["sender"] == sender)
        ]

    async def message(self, room_id: str, sender: str, *words: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next(
                (m for m in self.messages(room_id, sender) if all(w in m["body"] for w in words)),
                None,
            )

        async def check() -> dict[str, Any] | None:
            self.check(grace=KEY_GRACE)
            return found()

        return await eventually(check, timeout=60, what=f"a message from {sender} with {words}")

    async def invitation(self, *, sender: str) -> str:
        invite = await self.wait_for(
            lambda r: r["type"] == "invite" and r["sender"] == sender,
            what=f"an invite from {sender}",
        )
        return str(invite["room"])

    def check(self, *, grace: float = 0.0) -> None:
        """Fail on a bot's message this person still cannot read after ``grace`` s
        (one sent after this device was made: older ones are history to it)."""
        now = asyncio.get_running_loop().time()
        for event_id, report in self.latest().items():
            if (
                report["type"] == "undecryptable"
                and is_bot(report["sender"])
                and report["ts"] >= self.device_made_at
                and now - self._first_seen.get(event_id, now) >= grace
            ):
                raise UnreadableMessage(
                    f"Element cannot decrypt {report['sender']}'s message {event_id} in "
                    f"{report['room']}: {report['reason']}"
                )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.command("stop")
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
