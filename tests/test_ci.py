"""In CI a skipped test, or one that cannot fail, fails the run; elsewhere it skips\n(tests/ci.py)."""

from __future__ import annotations

import pytest

STORIES = """
import pytest


def test_that_runs():
    pass


def test_that_misses_its_package():
    pytest.skip("chromium is missing: apt-get install chromium")


@pytest.mark.xfail(strict=True, reason="a known bug")
def test_of_a_known_bug():
    assert False


@pytest.mark.xfail(run=False, reason="flaky, kept out")
def test_kept_from_running():
    assert False


@pytest.mark.xfail(strict=False, reason="sometimes fails")
def test_that_cannot_fail():
    pass
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: bool) -> pytest.RunResult:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    return pytester.runpytest_inprocess("-p", "tests.ci", "-p", "no:cacheprovider")


@pytest.mark.parametrize("ci", [True, False], ids=["in CI", "elsewhere"])
def test_a_skipped_test_fails_the_run_in_ci_and_only_there(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: bool
) -> None:
    pytester.makepyfile(test_stories=STORIES)
    result = run(pytester, monkeypatch, ci)
    if ci:
        result.assert_outcomes(passed=1, failed=2, errors=1, xfailed=1)
        result.stdout.fnmatch_lines_random(
            [
                "*CI=true forbids skips: *chromium is missing*",
                "*kept from running (xfail, run=False)*flaky, kept out*",
                "*marked as failing but passed (xfail, strict=False)*sometimes fails*",
            ]
        )
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    else:
        result.assert_outcomes(passed=1, skipped=1, xfailed=2, xpassed=1)
        assert result.ret == pytest.ExitCode.OK


def test_a_module_skipped_whole_stops_the_run_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_redis="import pytest\npytest.skip('no Redis', allow_module_level=True)\n"
    )
    result = run(pytester, monkeypatch, ci=True)
    result.stdout.fnmatch_lines(["*CI=true forbids skips: *no Redis*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
