"""Which private question a person is answering in their direct room with the scheduler.

The scheduler holds two kinds of private conversation: the check-in after a visit
and the wellbeing questions. One ``Dialogue`` row per person says which one the
next answer belongs to; the answers themselves live in ``CheckIn`` and
``WellbeingAnswer``, so a restart continues where the person was.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connec.models import Dialogue

BOT = "scheduler"
CHECKIN = "checkin"
WELLBEING = "wellbeing"
# Someone who answered within this long is in the middle of a conversation: a new
# question waits until they are done instead of interrupting.
IN_PROGRESS = timedelta(minutes=30)

# Short answers people give to a yes/no question, in Danish and English.
YES_WORDS = frozenset(
    {"ja", "ja tak", "jatak", "jo", "jep", "jeps", "gerne", "ja gerne", "ok", "okay", "oki",
     "fint", "det er fint", "det passer", "det passer fint", "yes", "yes please", "yep", "yeah",
     "sure", "fine", "👍", "✅", "✔️", "✔", "👌"}
)  # fmt: skip
NO_WORDS = frozenset(
    {"nej", "nej tak", "nejtak", "nix", "ikke", "hellere ikke", "no", "no thanks", "no thank you",
     "nope", "👎", "❌"}
)  # fmt: skip


def plain(text: str) -> str:
    """An answer as a short canonical phrase: no reply quote, case, punctuation or spaces."""
    lines = [line for line in text.splitlines() if not line.startswith(">")]
    words = re.sub(r"[.,!?;:()\"'«»“”]+", " ", " ".join(lines).lower())
    return " ".join(words.split())


def is_yes(text: str) -> bool:
    return plain(text) in YES_WORDS


def is_no(text: str) -> bool:
    return plain(text) in NO_WORDS


async def current(session: AsyncSession, matrix_id: str) -> Dialogue | None:
    """The conversation a person is in with the scheduler, if any."""
    return await session.scalar(
        select(Dialogue).where(Dialogue.bot == BOT, Dialogue.matrix_id == matrix_id)
    )


def busy(dialogue: Dialogue | None, now: datetime) -> bool:
    """Is the person answering something right now (so a new question should wait)?"""
    return dialogue is not None and now - dialogue.updated_at < IN_PROGRESS


async def begin(
    session: AsyncSession,
    matrix_id: str,
    kind: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Make this the conversation the person's next answer belongs to."""
    dialogue = await current(session, matrix_id)
    if dialogue is None:
        session.add(
            Dialogue(bot=BOT, matrix_id=matrix_id, kind=kind, step=step, data=data, updated_at=now)
        )
    else:
        dialogue.kind, dialogue.step, dialogue.data, dialogue.updated_at = kind, step, data, now


async def finish(session: AsyncSession, matrix_id: str) -> None:
    dialogue = await current(session, matrix_id)
    if dialogue is not None:
        await session.delete(dialogue)
