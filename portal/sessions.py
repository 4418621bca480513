"""Portal sessions kept on the server, so that signing out, a new first password and
erasure make an old cookie worth nothing.

The encrypted cookie carries a random session ID; the ``portal_sessions`` table
keeps its SHA-256 and whose it is. A cookie whose ID is not in the table (signed
out, ended by a new password or an erasure, or older than a working day) signs
nobody in, whatever else it says.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from connec.models import PortalSession

COOKIE_KEY = "sid"


def id_hash(session_id: str) -> str:
    """What the table keeps of a session ID (a stolen table signs nobody in)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start(db: AsyncSession, matrix_id: str, *, at: datetime, max_age: float) -> str:
    """A new session for ``matrix_id``; answers the ID for the cookie.

    Sessions older than ``max_age`` seconds are dropped on the way: they sign
    nobody in any more.
    """
    await db.execute(
        delete(PortalSession).where(PortalSession.started_at < at - timedelta(seconds=max_age))
    )
    session_id = secrets.token_urlsafe(32)
    db.add(PortalSession(id_hash=id_hash(session_id), matrix_id=matrix_id, started_at=at))
    return session_id


async def end(db: AsyncSession, session_id: str) -> None:
    """End one session (signing out)."""
    await db.execute(delete(PortalSession).where(PortalSession.id_hash == id_hash(session_id)))


async def end_all(db: AsyncSession, matrix_id: str) -> int:
    """End every portal session of an account (a new first password, erasure)."""
    result = await db.execute(delete(PortalSession).where(PortalSession.matrix_id == matrix_id))
    return int(getattr(result, "rowcount", 0) or 0)
