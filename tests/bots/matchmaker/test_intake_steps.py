"""The intake dialogue as plain data: what people write, and what the matchmaker understands."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from bots.common.messages import Messages
from bots.matchmaker import intake_steps as steps
from bots.matchmaker.intake_steps import Problem, parse_availability
from connec.i18n import LOCALE_DIR, translations

YEAR = 2025
TEMPLATES = Path(steps.__file__).parent / "templates"
MESSAGES = Messages("matchmaker", TEMPLATES)


def talk(state: steps.State, *answers: str, lang: str = "da") -> steps.Outcome:
    outcome = steps.Outcome(state, [])
    for text in answers:
        outcome = steps.answer(outcome.state, text, lang=lang, today_year=YEAR)
    return outcome


def render(message: steps.Message, lang: str = "da") -> str:
    body, _ = MESSAGES.render(message.template, lang, **message.values)
    return body


def fresh(role: str | None = None, **answers: object) -> steps.State:
    state, _ = steps.start_intake(role, {"display_name": "Karen", **answers}, "da")
    return state


# Understanding answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("tirsdag formiddag, torsdag eftermiddag", ["tue-am", "thu-pm"]),
        ("Tuesday morning and Thursday afternoon", ["tue-am", "thu-pm"]),
        ("tirsdag og torsdag formiddag", ["tue-am", "thu-am"]),
        ("mandag formiddag tirsdag aften", ["mon-am", "tue-eve"]),
        ("formiddag", [f"{day}-am" for day in steps.DAYS]),
        ("hverdage aften", ["mon-eve", "tue-eve", "wed-eve", "thu-eve", "fri-eve"]),
        ("weekend", ["sat-am", "sat-pm", "sat-eve", "sun-am", "sun-pm", "sun-eve"]),
        ("2 formiddag, 4 eftermiddag", ["tue-am", "thu-pm"]),
        ("om tirsdagen", ["tue-am", "tue-pm", "tue-eve"]),
        ("lørdag hele dagen", ["sat-am", "sat-pm", "sat-eve"]),
        ("når som helst", list(steps.SLOTS)),
        ("ved ikke", []),
    ],
)
def test_weekly_times_in_everyday_words(text: str, slots: list[str]) -> None:
    assert parse_availability(text) == slots


@pytest.mark.parametrize(
    ("text", "code"),
    [("kl 10", "day_number"), ("ikke mandag", "not_understood"), ("", "empty_times")],
)
def test_times_not_understood_say_why(text: str, code: str) -> None:
    problem = parse_availability(text)
    assert isinstance(problem, Problem) and problem.code == code


def test_interests_by_number_and_in_own_words_together() -> None:
    state = fresh("citizen")
    state.step, state.queue = "interests", ["about"]
    outcome = talk(state, "1, 4, have, Kim Larsen")
    assert outcome.state.answers["interest_keys"] == ["art", "jazz"]
    assert outcome.state.answers["interest_words"] == ["have", "Kim Larsen"]
    noted = render(outcome.messages[0])
    assert "Jeg har skrevet: kunst, jazz, havearbejde og “Kim Larsen”" in noted


def test_languages_by_number_name_or_code() -> None:
    state = fresh("citizen")
    state.step, state.queue = "languages", ["interests"]
    for text, codes in [
        ("1, 2", ["da", "en"]),
        ("dansk og arabisk", ["da", "ar"]),
        ("Danish, Farsi", ["da", "fa"]),
        ("da, en", ["da", "en"]),
        ("jeg taler lidt tysk", ["de"]),
    ]:
        assert talk(state, text).state.answers["languages"] == codes, text
    problem = talk(state, "klingon").messages[0]
    assert problem.values["problem"] == {"code": "not_understood", "words": "klingon"}


@pytest.mark.parametrize(
    ("step", "text", "answers"),
    [
        ("name", "jeg hedder karen hansen", {"display_name": "Karen Hansen"}),
        ("birth_year", "Jeg er født i 1948", {"birth_year": 1948}),
        ("gender", "2", {"gender": "male"}),
        ("gender", "vil helst ikke sige", {"gender": None}),
        ("place", "8000 Aarhus C", {"postcode": "8000", "municipality": "Aarhus C"}),
        ("place", "Berlin", {"postcode": None, "municipality": "Berlin", "near_me": False}),
        ("contact_modes", "skrive og video", {"contact_modes": ["chat", "video"]}),
        ("contact_modes", "alle", {"contact_modes": ["chat", "voice", "video"]}),
        ("partner_gender", "lige meget", {"partner_gender": None}),
        ("partner_gender", "en kvinde", {"partner_gender": "female"}),
        ("age_range", "60-80", {"age_min": 60, "age_max": 80}),
        ("age_range", "over 50", {"age_min": 50, "age_max": None}),
        ("age_range", "under 40", {"age_min": None, "age_max": 40}),
        ("age_range", "lige meget", {"age_min": None, "age_max": None}),
        ("age_range", "Doesn't matter", {"age_min": None, "age_max": None}),
        ("near_me", "i nærheden", {"near_me": True}),
        ("near_me", "2", {"near_me": False}),
        ("capacity", "to", {"capacity": 2}),
    ],
)
def test_answers_by_number_or_word(step: str, text: str, answers: dict[str, object]) -> None:
    state = fresh("volunteer", postcode="8000")
    state.step, state.queue = step, ["about"]
    outcome = talk(state, text)
    assert {k: outcome.state.answers.get(k) for k in answers} == answers, outcome.messages


@pytest.mark.parametrize(
    ("step", "text", "code"),
    [
        ("birth_year", "48", "year"),
        ("birth_year", "2012", "too_young"),
        ("gender", "7", "number_range"),
        ("gender", "kvinde og mand", "choose_one"),
        ("place", "80000", "postcode"),
        ("interests", "3, 99", "number_range"),
        ("age_range", "60", "age_range"),
        ("age_range", "5-200", "age_bounds"),
        ("capacity", "fem", "capacity"),
        ("role", "måske", "not_understood"),
    ],
)
def test_a_bad_answer_gets_a_kind_explanation_and_the_same_question(
    step: str, text: str, code: str
) -> None:
    state = fresh("volunteer")
    state.step, state.queue = step, ["about"]
    outcome = talk(state, text)
    assert outcome.state.step == step and outcome.effect is None
    [message] = outcome.messages
    assert message.template == f"intake_ask_{step}.html"
    assert message.values["problem"]["code"] == code
    body = render(message)
    # The explanation first, then the same question again.
    assert body.index("Lad os prøve igen:") < body.index("?")


# The dialogue ------------------------------------------------------------------------------------


def test_a_citizen_answers_every_question_and_confirms_the_summary() -> None:
    state, first = steps.start_intake(None, {"display_name": "Karen"}, "da")
    assert first.template == "intake_ask_role.html"
    assert "Spørgsmål 1 af 13" in render(first)
    outcome = talk(
        state,
        "1",
        "ok",
        "1948",
        "kvinde",
        "8000 Aarhus",
        "dansk",
        "have, jazz, Kim Larsen",
        "Jeg var lærer i fyrre år",
        "1, 2",
        "tirsdag formiddag, torsdag eftermiddag",
        "3",
        "60-80",
        "2",
    )
    assert outcome.state.step == steps.CONFIRM
    summary = render(outcome.messages[0])
    assert "1. Navn: Karen" in summary
    assert "Interesser: jazz, havearbejde og “Kim Larsen”" in summary
    assert "Tid til en snak: tirsdag formiddag; torsdag eftermiddag" in summary
    assert "Din besøgsven: hvem som helst, mellem 60 og 80 år, hvor som helst i Danmark" in summary
    assert "Født: 1948" in summary and "Antal" not in summary

    saved = talk(outcome.state, "ja")
    assert saved.effect == "save" and saved.state.step == steps.DONE
    assert saved.state.role == "citizen"
    assert saved.state.answers["availability"] == ["tue-am", "thu-pm"]
    assert set(saved.fields) == set(steps.PROFILE_FIELDS)


def test_the_role_answer_says_who_someone_is_and_volunteers_get_the_capacity_question() -> None:
    state, _ = steps.start_intake(None, {"display_name": "Mette"}, "da")
    chosen = talk(state, "frivillig")
    assert chosen.effect == "role" and chosen.state.role == "volunteer"
    assert "capacity" in chosen.state.queue
    for step in ("name", "birth_year"):
        assert step in [*chosen.state.queue, chosen.state.step]


def test_back_goes_to_the_previous_question_and_keeps_the_answers() -> None:
    state = fresh("citizen")
    after = talk(state, "ok", "1948")
    assert after.state.step == "gender"
    back = talk(after.state, "tilbage")
    assert back.state.step == "birth_year" and back.state.answers["birth_year"] == 1948
    assert "Det har jeg nu: 1948" in render(back.messages[0])
    # At the very first question there is nothing before it.
    first = talk(fresh("citizen"), "back")
    assert first.messages[0].values["problem"]["code"] == "first_question"


def test_stop_puts_the_intake_aside_and_cancels_a_change() -> None:
    stopped = talk(fresh("citizen"), "ok", "Stop!")
    assert stopped.effect == "stopped" and stopped.state.step == "birth_year"
    assert stopped.messages[0].template == "intake_stopped.html"

    part = steps.find_part("tider", "citizen")
    assert part is not None
    edit, _ = steps.start_edit(part, "citizen", {"availability": ["mon-am"]}, "da")
    cancelled = talk(edit, "stop")
    assert cancelled.effect == "cancelled"


def test_a_part_changed_from_the_summary_returns_to_the_summary() -> None:
    state = fresh("citizen")
    state.step, state.queue, state.history = steps.CONFIRM, [], ["name"]
    jumped = talk(state, "9")  # the times
    assert jumped.state.step == "availability"
    assert "Spørgsmål" not in render(jumped.messages[0])
    back = talk(jumped.state, "weekend")
    assert back.state.step == steps.CONFIRM
    assert "lørdag hele dagen; søndag hele dagen" in render(back.messages[0])


def test_editing_one_part_saves_only_that_part() -> None:
    part = steps.find_part("ønsker", "citizen")
    assert part is not None and part.key == "wishes"
    edit, first = steps.start_edit(
        part, "citizen", {"postcode": "8000", "partner_gender": None, "near_me": False}, "da"
    )
    assert first.template == "intake_ask_partner_gender.html"
    done = talk(edit, "en mand", "over 60", "i nærheden")
    assert done.effect == "save"
    assert set(done.fields) == {"partner_gender", "age_min", "age_max", "near_me"}
    assert "Din besøgsven: en mand, 60 år eller ældre, som bor i nærheden af dig" in render(
        done.messages[0]
    )


def test_near_me_is_only_asked_of_someone_with_a_postcode() -> None:
    part = steps.find_part("wishes", "citizen")
    assert part is not None
    edit, _ = steps.start_edit(part, "citizen", {"postcode": None}, "en")
    done = talk(edit, "3", "any age", lang="en")
    assert done.effect == "save" and "near_me" not in done.fields


def test_ok_keeps_what_is_there() -> None:
    part = steps.find_part("interests", "citizen")
    assert part is not None
    edit, first = steps.start_edit(part, "citizen", {"interest_keys": ["jazz"]}, "en")
    assert (
        "What I have now: <i>jazz</i>" in MESSAGES.render(first.template, "en", **first.values)[1]
    )
    done = talk(edit, "ok", lang="en")
    assert done.effect == "save" and done.state.answers["interest_keys"] == ["jazz"]


def test_parts_are_named_in_danish_english_or_by_number() -> None:
    assert steps.find_part("interesser", "citizen").key == "interests"  # type: ignore[union-attr]
    assert steps.find_part("Times", "citizen").key == "times"  # type: ignore[union-attr]
    assert steps.find_part("2", "citizen").key == "birth_year"  # type: ignore[union-attr]
    assert steps.find_part("antal", "citizen") is None
    assert steps.find_part("antal", "volunteer").key == "capacity"  # type: ignore[union-attr]


def test_the_state_survives_being_stored_as_json() -> None:
    import json

    state = talk(fresh("citizen"), "ok", "1948").state
    again = steps.State.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state


# Every word is in Danish ---------------------------------------------------------------------------


SAME_IN_DANISH = {"<dansk|english>", "video", "{day} {parts}", "{who}, {age}, {where}"}


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted(TEMPLATES.glob("intake_*.html")) + sorted(TEMPLATES.glob("profile_*.html")):
        for _, message, _, _ in extract_from_file(
            "jinja2.ext.babel_extract", str(path), options={"extensions": "jinja2.ext.i18n"}
        ):
            found.add(message if isinstance(message, str) else message[0])
    for _, message, _, _ in extract_from_file(
        "python", steps.__file__, keywords={"_": (2,), "ngettext": (3, 4)}
    ):
        found.add(message if isinstance(message, str) else message[0])
    from bots.matchmaker.bot import COMMANDS

    for command in COMMANDS.commands:
        if command.key in {"start", "stop", "back", "profile", "edit", "pause", "resume"}:
            found.add(command.help)
        if command.key in {"language", "edit"}:
            found |= {command.help, command.args}
    return found


def test_every_phrase_has_a_danish_translation() -> None:
    catalog = translations("da", "matchmaker_intake")
    assert (LOCALE_DIR / "da" / "LC_MESSAGES" / "matchmaker_intake.po").exists()
    missing = sorted(m for m in _msgids() if catalog.gettext(m) == m and m not in SAME_IN_DANISH)
    assert missing == []


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_question_renders_in_both_languages(lang: str) -> None:
    state = fresh("volunteer", postcode="8000")
    for step in steps.STEPS:
        state.step = step
        for problem in (None, Problem("not_understood", {"words": "x"}), Problem("year")):
            render(steps.question(state, lang, problem=problem), lang)
    state.step = steps.CONFIRM
    assert "Antal borgere" in render(steps.question(state, "da"), "da")


def test_the_question_count_holds_steady_for_someone_who_gives_a_postcode() -> None:
    state, first = steps.start_intake(None, {"display_name": "Karen"}, "da")
    counts = [(first.values["position"], first.values["total"])]
    for text in ["1", "ok", "1948", "1", "8000", "1", "4", "-", "1", "2 formiddag", "3", "-"]:
        outcome = steps.answer(state, text, lang="da", today_year=YEAR)
        state = outcome.state
        counts.append((outcome.messages[0].values["position"], outcome.messages[0].values["total"]))
    assert counts == [(n, 13) for n in range(1, 14)]


# ---------------------------------------------------------------- answers as people type them


@pytest.mark.parametrize(
    ("typed", "slots"),
    [
        ("tirsdga formiddag, torsdg eftermidag", ["tue-am", "thu-pm"]),
        ("mandag aftn", ["mon-eve"]),
        ("Fredga", ["fri-am", "fri-pm", "fri-eve"]),
        ("lordag formiddag", ["sat-am"]),
    ],
)
def test_days_and_parts_of_day_with_typos_are_read(typed: str, slots: list[str]) -> None:
    assert parse_availability(typed) == slots


def test_a_word_far_from_any_day_is_still_not_understood() -> None:
    problem = parse_availability("mandag og blomkål")
    assert isinstance(problem, Problem) and problem.code == "not_understood"


@pytest.mark.parametrize(
    ("step", "typed", "value"),
    [
        ("languages", "dansk og englesk", {"languages": ["da", "en"]}),
        ("languages", "Danks, arabsk", {"languages": ["da", "ar"]}),
        ("contact_modes", "vidoe og telefn", {"contact_modes": ["voice", "video"]}),
        ("contact_modes", "skirve", {"contact_modes": ["chat"]}),
    ],
)
def test_languages_and_contact_modes_with_typos_are_read(
    step: str, typed: str, value: dict[str, list[str]]
) -> None:
    assert steps.PARSERS[step](typed, steps._Context(2026, "citizen")) == value
