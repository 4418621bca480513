"""Start the scheduler: `connec bot scheduler`."""

from bots.common.main import run_bot
from bots.scheduler.bot import Scheduler
from connec.settings import Settings


def main(settings: Settings) -> None:
    run_bot(settings, Scheduler())
