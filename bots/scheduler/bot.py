"""The scheduler bot: lives in every visit room and circle; books visits and
gatherings, reminds, and cares after.

One file per job: ``booking.py`` (!besøg, !aflys, !flyt and confirmations),
``reminders.py`` (planning and the timer), ``calendar.py`` (.ics files),
``checkin.py`` (how did the visit go), ``silence.py`` (quiet rooms),
``gatherings.py`` (a circle's gatherings, and who stops coming),
``wellbeing.py`` (the UCLA loneliness scale and !trivsel) and ``conversations.py``
(which private question an answer belongs to). Each declares its commands on the
one table in ``table.py``, so help is generated from all of them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

import nio

from bots.common.commands import Where, declare_help
from bots.common.messages import Messages
from bots.common.runtime import Bot, BotRuntime, MessageContext
from bots.scheduler import (
    booking,
    calendar,
    checkin,
    conversations,
    dialogue,
    gatherings,
    reminders,
    silence,
    wellbeing,
)
from bots.scheduler.reminders import Timer
from bots.scheduler.table import COMMANDS

declare_help(COMMANDS)

# The care checks (quiet rooms, wellbeing questions) look at every match; often
# enough to notice a day's difference, seldom enough to cost nothing.
CARE_EVERY = timedelta(minutes=15)
CARE_FIRST = timedelta(minutes=1)


class Scheduler(Bot):
    name = "scheduler"
    commands = COMMANDS
    messages = Messages("scheduler", Path(__file__).parent / "templates")

    def __init__(self) -> None:
        self.timer: Timer | None = None

    async def should_join(
        self, runtime: BotRuntime, room_id: str, inviter: str, direct: bool
    ) -> bool:
        # The matchmaker invites the scheduler into every visit room it creates.
        matchmaker = runtime.settings.user_id(runtime.settings.matchmaker.localpart)
        return inviter == matchmaker or await super().should_join(runtime, room_id, inviter, direct)

    async def on_text(self, ctx: MessageContext) -> None:
        if ctx.where is Where.VISIT_ROOM:
            await silence.note_activity(ctx.runtime, ctx.room.room_id)
            await gatherings.note_presence(ctx.runtime, ctx.room.room_id, ctx.sender)
            # Anything else is the pair talking to each other: the bot keeps quiet,
            # unless they clearly arrange a day and a time.
            if not await booking.on_text(ctx):
                await booking.offer(ctx)
            return
        if await conversations.on_text(ctx):
            return
        await super().on_text(ctx)

    async def on_reaction(
        self, runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent
    ) -> None:
        await booking.on_reaction(runtime, room, event)

    async def on_new_device(self, runtime: BotRuntime, person: str, device_ids: list[str]) -> None:
        """What waits for the person's answer, asked again on the new device: visits to
        confirm, and the question of the conversation they are in."""
        await booking.ask_again(runtime, person, device_ids)
        async with runtime.db.session() as session:
            talking = await dialogue.current(session, person)
        if talking is None:
            return
        if talking.kind == dialogue.CHECKIN:
            await checkin.ask_again(runtime, person, device_ids)
        elif talking.kind == dialogue.WELLBEING:
            await wellbeing.ask_again(runtime, person, device_ids)

    async def on_start(self, runtime: BotRuntime) -> None:
        """Rebuild the timer from the tables, then catch up in the background."""
        self.timer = Timer(runtime.clock, partial(reminders.fire, runtime))
        self.timer.every("care", CARE_EVERY, partial(self.care, runtime), first=CARE_FIRST)
        self.timer.every(
            "prepare",
            reminders.PREPARE_EVERY,
            partial(reminders.prepare_upcoming, runtime),
            first=reminders.PREPARE_EVERY,
        )
        overdue = await reminders.start_timer(runtime, self.timer)
        # Catching up may ask check-ins in direct rooms, which needs the sync loop
        # running, so it must not hold up the start.
        runtime.spawn(self._catch_up(runtime, overdue), "scheduler catch-up")

    async def _catch_up(self, runtime: BotRuntime, overdue: list[int]) -> None:
        await reminders.resume(runtime, overdue)
        await calendar.send_missing(runtime)

    async def care(self, runtime: BotRuntime) -> None:
        """The periodic care job: quiet rooms, then wellbeing questions that are due."""
        await silence.check(runtime)
        await gatherings.check(runtime)
        await wellbeing.check(runtime)

    async def on_stop(self, runtime: BotRuntime) -> None:
        if self.timer is not None:
            self.timer.shutdown()
