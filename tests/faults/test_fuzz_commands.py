"""Every command of both bots, and plain words, made up by hypothesis: arbitrary
Unicode, long text, markup, after every command name in Danish and English. No
message makes a handler fail, and the bot is still running afterwards.

Layer: both bots really running on the session's Synapse (logged in, syncing, their
real database); each made-up message goes into the bot's real dispatch (the step after
decryption) in a real room: the coordinators' room as the coordinator, and a person's
direct room as that person. The answers really go out through Synapse. A message that
makes a handler raise fails the test; in the running bot it would be logged as
"handling failed" and the person would get no answer.
"""

from __future__ import annotations

import itertools
import os

import nio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bots.common.runtime import BotRuntime
from bots.matchmaker import intake_steps
from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.coordination import read_references
from bots.scheduler.bot import Scheduler
from connec.provision import FACT_COORDINATORS_ROOM
from tests.bots.conftest import RunningBot
from tests.faults.test_fuzz_portal import TEXT
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse

EXAMPLES = int(os.environ.get("CONNEC_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def every_name() -> list[str]:
    names = []
    for bot in (Matchmaker(), Scheduler()):
        for command in bot.commands.commands:
            names += [n for ns in command.names.values() for n in ns]
    return sorted(set(names))


NAMES = every_name()
MESSAGES = st.one_of(
    TEXT,
    st.builds(lambda name, rest: f"!{name} {rest}", st.sampled_from(NAMES), TEXT),
    st.builds(lambda name, rest: f"{name} {rest}", st.sampled_from(NAMES), TEXT),
)
_numbers = itertools.count()


def text_event(sender: str, body: str) -> nio.RoomMessageText:
    return nio.RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "sender": sender,
            "event_id": f"$fuzz{next(_numbers)}-{os.getpid()}",
            "origin_server_ts": 2**41,  # not history
            "content": {"msgtype": "m.text", "body": body},
        }
    )


@pytest.fixture(scope="module")
async def running(synapse: SynapseHarness):  # type: ignore[no-untyped-def]
    started = [await RunningBot(synapse, Matchmaker()).start()]
    started.append(await RunningBot(synapse, Scheduler()).start())
    yield started
    for bot in started:
        await bot.stop()


@pytest.fixture(scope="module")
def bots(running: list[RunningBot]) -> list[BotRuntime]:
    return [r.runtime for r in running]


@pytest.fixture(scope="module")
async def direct_rooms(
    synapse: SynapseHarness, bots: list[BotRuntime]
) -> dict[str, tuple[str, str]]:
    """A person with a direct room with each bot: bot name -> (person, room ID)."""
    person = await synapse.register("fuzz-karen")
    made = {}
    for runtime in bots:
        room_id = await runtime.ensure_direct_room(person.user_id)
        await runtime.wait_for_room(room_id)
        made[runtime.bot.name] = (person.user_id, room_id)
    return made


async def dispatch(runtime: BotRuntime, room_id: str, sender: str, body: str) -> None:
    assert runtime.client is not None
    room = runtime.client.rooms[room_id]
    # The bot's own dispatch, as after decryption; a raise here is the failure.
    await runtime._handle_text(room, text_event(sender, body))


@FUZZ
@given(body=MESSAGES)
@example(body="!godkend-forslag ²")
async def test_made_up_words_from_the_coordinator_in_the_coordinators_room(
    synapse: SynapseHarness, bots: list[BotRuntime], body: str
) -> None:
    coordinator = synapse.settings.user_id(synapse.settings.coordinator_localpart)
    for runtime in bots:
        await dispatch(runtime, synapse.facts[FACT_COORDINATORS_ROOM], coordinator, body)


@FUZZ
@given(body=MESSAGES)
async def test_made_up_words_from_a_person_in_their_direct_room(
    bots: list[BotRuntime], direct_rooms: dict[str, tuple[str, str]], body: str
) -> None:
    for runtime in bots:
        person, room_id = direct_rooms[runtime.bot.name]
        await dispatch(runtime, room_id, person, body)


async def test_the_bots_still_run_after_the_fuzzing(running: list[RunningBot]) -> None:
    for bot in running:
        assert bot.task is not None and not bot.task.done()
        assert bot.runtime.ready.is_set()


# The pure readers behind the commands and the intake dialogue, fuzzed much harder
# (they need no Synapse): digits of every kind, as people paste them.
DIGITS = st.text(
    alphabet=st.characters(categories=["Nd", "No", "Nl", "Zs", "Po"]), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(args=st.one_of(DIGITS, TEXT))
@example(args="²")
@example(args="9" * 4301)
def test_a_commands_arguments_of_any_digits_are_read_or_refused_never_raised(args: str) -> None:
    for people in (0, 1, 2):
        read_references(args, "connec.test", people=people, number=True)
        read_references("#" + args, "connec.test", people=people, number=True)


@settings(max_examples=200, deadline=None)
@given(
    role=st.sampled_from(["citizen", "volunteer", "peer", None]),
    answers=st.lists(st.one_of(DIGITS, TEXT), min_size=1, max_size=12),
)
@example(role=None, answers=["0" * 4301])
@example(role="citizen", answers=["²"])
def test_the_intake_dialogue_takes_any_answers_at_every_step(
    role: str | None, answers: list[str]
) -> None:
    state, _ = intake_steps.start_intake(role, {}, "da")
    for text in answers:
        state = intake_steps.answer(state, text, lang="da", today_year=2026).state
