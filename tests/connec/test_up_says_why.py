"""`connec up` on a folder it cannot use says why in plain words, never with a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connec.secrets import Secrets, save_secrets

IN_CI = os.environ.get("CI") == "true"


def up(data: Path, *wrapper: str) -> tuple[int, str]:
    done = subprocess.run(
        [*wrapper, sys.executable, "-m", "connec.cli", "up", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    return done.returncode, done.stdout + done.stderr


def a_folder(tmp_path: Path) -> Path:
    """Secrets and configuration, as init leaves them (nothing is started here)."""
    data = tmp_path / "var"
    data.mkdir()
    save_secrets(data / "secrets.toml", Secrets.generate())
    (data / "connec.toml").write_text('language = "da"\n\n[synapse]\nport = 0\n')
    return data


def test_a_connec_toml_that_is_not_toml(tmp_path: Path) -> None:
    data = a_folder(tmp_path)
    (data / "connec.toml").write_text('language = "da"\n[synapse\nport = 8008\n')
    code, said = up(data)
    assert code == 2 and "Traceback" not in said
    assert "connec.toml cannot be read: it is not valid TOML" in said and "line 2" in said


def test_a_connec_toml_with_a_value_connec_cannot_use(tmp_path: Path) -> None:
    data = a_folder(tmp_path)
    (data / "connec.toml").write_text("[synapse]\nport = 70000\nworkers = 2\n")
    code, said = up(data)
    assert code == 2 and "Traceback" not in said
    assert "holds a value connec cannot use" in said and "synapse.port" in said


def test_a_secrets_toml_that_cannot_be_read(tmp_path: Path) -> None:
    data = a_folder(tmp_path)
    (data / "secrets.toml").write_text('form_secret = "cut short\n')
    code, said = up(data)
    assert code == 2 and "Traceback" not in said
    assert "secrets.toml cannot be read" in said and "restore it from your backup" in said
    assert "Do not delete it" in said
    (data / "secrets.toml").write_text("form_secret = 42\n")
    code, said = up(data)
    assert code == 2 and "Traceback" not in said and "form_secret" in said


def test_a_folder_never_initialised(tmp_path: Path) -> None:
    code, said = up(tmp_path / "nothing")
    assert code == 2 and "connec init" in said and "Traceback" not in said


def test_a_read_only_data_folder(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        if IN_CI:
            pytest.fail("unshare (util-linux) is needed in CI")
        pytest.skip("unshare is not installed")
    data = a_folder(tmp_path)
    # The folder mounted read-only in a mount namespace of its own, as a full or
    # read-only disk would be; nothing outside the test sees it.
    script = (
        f'mount --bind "{data}" "{data}" && mount -o remount,bind,ro "{data}" "{data}" && exec "$@"'
    )
    code, said = up(data, "unshare", "-rm", "sh", "-c", script, "sh")
    assert code == 2 and "Traceback" not in said, said
    assert "connec cannot write" in said and "Read-only file system" in said
    assert "must be writable by the user that runs connec" in said
