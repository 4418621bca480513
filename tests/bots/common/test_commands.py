"""Commands as people type them: a typo gets the nearest command back, answered once."""

from __future__ import annotations

import pytest

from bots.common.commands import SHARED_ROOMS, CommandTable, Where
from bots.matchmaker.bot import Matchmaker
from bots.scheduler.bot import Scheduler

VISIT = Where.VISIT_ROOM
COORDINATORS = Where.COORDINATORS_ROOM


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("!bsøg i morgen", "besøg"),
        ("!besg", "besøg"),
        ("!BESØØG", "besøg"),
        ("!aflyss 3", "aflys"),
        ("!flut 1 fredag", "flyt"),
        ("!hjlp", "hjælp"),
        ("!visti", "visit"),
        ("!afslutt", "afslut"),  # the matchmaker's command, named by the scheduler
    ],
)
def test_a_mistyped_command_in_a_visit_room_names_the_nearest(typed: str, nearest: str) -> None:
    invocation = Scheduler.commands.parse(typed, direct=False, where=VISIT)
    assert invocation is not None and invocation.command is None
    assert invocation.nearest == nearest
    assert Scheduler.commands.answers(invocation, VISIT)
    # The matchmaker is in the same room and stays silent.
    other = Matchmaker.commands.parse(typed, direct=False, where=VISIT)
    assert other is not None and not Matchmaker.commands.answers(other, VISIT)


def test_a_word_far_from_every_command_gets_no_name_but_still_an_answer() -> None:
    invocation = Scheduler.commands.parse("!blomkål", direct=False, where=VISIT)
    assert invocation is not None and invocation.nearest is None
    assert Scheduler.commands.answers(invocation, VISIT)


def test_the_other_bots_own_commands_are_left_to_it() -> None:
    invocation = Scheduler.commands.parse("!afslut", direct=False, where=VISIT)
    assert invocation is not None and invocation.elsewhere
    assert not Scheduler.commands.answers(invocation, VISIT)
    wellbeing = Matchmaker.commands.parse("!trivsel", direct=False, where=COORDINATORS)
    assert wellbeing is not None and not Matchmaker.commands.answers(wellbeing, COORDINATORS)


def test_in_the_coordinators_room_the_matchmaker_answers_typos() -> None:
    invocation = Matchmaker.commands.parse("!godkend-forslg 1", direct=False, where=COORDINATORS)
    assert invocation is not None and invocation.nearest == "godkend-forslag"
    assert Matchmaker.commands.answers(invocation, COORDINATORS)
    theirs = Scheduler.commands.parse("!godkend-forslg 1", direct=False, where=COORDINATORS)
    assert theirs is not None and not Scheduler.commands.answers(theirs, COORDINATORS)


def test_exclamations_are_not_tries_at_a_command() -> None:
    invocation = Scheduler.commands.parse("!!!", direct=False, where=VISIT)
    assert invocation is not None and not Scheduler.commands.answers(invocation, VISIT)


def test_every_shared_room_lists_exactly_the_other_bots_commands_there() -> None:
    tables = {"scheduler": Scheduler.commands, "matchmaker": Matchmaker.commands}
    for where, room in SHARED_ROOMS.items():
        [other] = [t for name, t in tables.items() if name != room.answered_by]
        declared = {
            tuple(n for ns in c.names.values() for n in ns)
            for c in other.commands
            if c.where & where and c.where is not Where.ANY
        }
        assert declared == set(room.others), where


async def _nothing(ctx: object) -> None:
    return None


def test_a_shared_room_command_not_listed_is_refused_at_declaration() -> None:
    table = CommandTable(domain="matchmaker")
    with pytest.raises(ValueError, match="SHARED_ROOMS"):
        table.command("hug", da="kram", en="hug", help="", where=VISIT)(_nothing)
