"""In CI (``CI=true``) a skipped test fails the run.

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
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return  # an expected failure is reported as a skip; it is not one
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, and CI=true forbids skips: {reason}"


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
