"""`connec bench portal` runs on its own throw-away data folder and prints its figures.

Only that it works is tested here; the figures themselves are for people to read.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from connec.settings import load_settings
from portal import bench


def test_the_bench_measures_every_scenario_and_prints_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "REQUESTS", 60)
    monkeypatch.setattr(bench, "WARM_UP", 10)
    output = io.StringIO()
    bench.main(load_settings(tmp_path), Console(file=output, width=160))
    table = output.getvalue()
    for scenario in ("landing page", "sign-up stored", "sign-up with a mistake"):
        assert scenario in table
    assert "p99 ms" in table and "req/s" in table
    assert not any(tmp_path.iterdir())  # the given data folder is left alone
