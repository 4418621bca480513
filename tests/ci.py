"""In CI (``CI=true``) a skipped test fails the run, and so does a test that cannot
fail: an expected failure that is not run (``xfail(run=False)``) or that passed
without being strict (``xfail(strict=False)``).

Everything the tests need is installed in CI (``.ci/run`` sees to Chromium and coturn
and checks that PostgreSQL and Redis answer), so a skip there only hides a test that
did not run. One rule here, for every test and every reason to skip; outside CI a
missing system package still skips, so a laptop without Chromium can run the rest.
Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _fail_instead(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not in_ci():
        return
    wasxfail = getattr(report, "wasxfail", None)
    if report.skipped and wasxfail is None:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        why = f"skipped, and CI=true forbids skips: {reason}"
    elif report.skipped and str(wasxfail).startswith("[NOTRUN]"):
        # xfail(run=False): a story kept from running is a skip by another name.
        why = f"kept from running (xfail, run=False), and CI=true forbids that: {wasxfail}"
    elif report.passed and wasxfail is not None:
        # xfail(strict=False) that passed: a test that can pass and cannot fail.
        why = f"marked as failing but passed (xfail, strict=False): {wasxfail}"
    else:
        return  # a strict expected failure documents a known bug, and fails once it is fixed
    report.outcome = "failed"
    report.longrepr = why


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    _fail_instead(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report: pytest.CollectReport = yield
    _fail_instead(report)
    return report
