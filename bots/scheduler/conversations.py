"""A person's direct room with the scheduler: answers go to the question being asked.

One conversation at a time (see :mod:`bots.scheduler.dialogue`): the check-in after
a visit or the wellbeing questions. When one is finished, a question that waited
meanwhile is asked next, so nothing is lost and nobody is asked two things at once.
"""

from __future__ import annotations

from bots.common.commands import Where
from bots.common.runtime import MessageContext
from bots.scheduler import checkin, dialogue, wellbeing


async def on_text(ctx: MessageContext) -> bool:
    """An answer in a direct room; False if it answers nothing (plain conversation)."""
    if ctx.where is not Where.DIRECT:
        return False
    async with ctx.runtime.db.session() as session:
        talking = await dialogue.current(session, ctx.sender)
    if talking is None:
        return await continue_next(ctx)
    if talking.kind == dialogue.CHECKIN:
        finished = await checkin.answer(ctx, talking)
    else:
        finished = await wellbeing.answer(ctx, talking)
    if finished:
        await continue_next(ctx)
    return True


async def continue_next(ctx: MessageContext) -> bool:
    """Ask what waited: an open check-in first (it is about a recent visit), then wellbeing."""
    checkin_id = await checkin.open_checkin(ctx.runtime, ctx.sender)
    if checkin_id is not None:
        await checkin.continue_checkin(ctx, checkin_id)
        return True
    answer_id = await wellbeing.open_answer(ctx.runtime, ctx.sender)
    if answer_id is not None:
        await wellbeing.continue_answer(ctx, answer_id)
        return True
    return False
