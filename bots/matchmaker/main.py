"""Start the matchmaker: `connec bot matchmaker`."""

from bots.common.main import run_bot
from bots.matchmaker.bot import Matchmaker
from connec.settings import Settings


def main(settings: Settings) -> None:
    run_bot(settings, Matchmaker())
