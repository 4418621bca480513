"""(being written)"""

from __future__ import annotations

from typing import Any


async def on_text(ctx: Any) -> bool:
    return False


async def on_reaction(runtime: Any, room: Any, event: Any) -> bool:
    return False


async def on_member(runtime: Any, room: Any, event: Any) -> None:
    return None


async def on_start(runtime: Any) -> None:
    return None
