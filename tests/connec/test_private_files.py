"""Files with personal data are connec's alone, and `connec doctor` says so in words."""

from __future__ import annotations

import stat
from pathlib import Path

from connec.doctor import Severity, examine
from connec.private_files import make_private, readable_by_others
from connec.provision import prepare_files
from connec.settings import load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_doctor_names_each_file_others_can_read_and_up_makes_it_private(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "var")
    prepare_files(settings)
    paths = settings.paths
    # A folder as an older connec left it: stores, logs, exports readable by everyone.
    store = paths.bot("matchmaker") / "store"
    store.mkdir(parents=True)
    loose = {
        store / "@matchmaker:localhost_ABC.db": "the matchmaker's encryption keys",
        paths.logs / "matchmaker.log": "a log with people's Matrix IDs",
        paths.first_passwords: "people's first passwords",
        paths.root / "connec.db": "connec's database",
        paths.secrets: "this deployment's secrets",
    }
    for path in loose:
        path.touch()
        path.chmod(0o644)
    for folder in (paths.bots, paths.logs, store):
        folder.chmod(0o755)

    problems = [f for f in examine(paths.root) if f.severity is Severity.PROBLEM]
    said = "\n".join(f"{f.what} {f.advice}" for f in problems)
    for path, holds in loose.items():
        assert f"{path} holds {holds}" in said, path
    assert f"{store} holds the matchmaker's encryption store, but other users" in said
    assert "mode 0644; it should be 0600" in said and f"chmod 600 {paths.secrets}" in said
    assert "mode 0755; it should be 0700" in said

    changed = make_private(settings)
    assert set(loose) <= set(changed)
    assert readable_by_others(settings) == []
    assert all(mode(path) == 0o600 for path in loose)
    assert all(mode(folder) == 0o700 for folder in (paths.bots, paths.logs, store))
    assert not [f for f in examine(paths.root) if f.severity is Severity.PROBLEM]


def test_a_new_data_folder_is_private_and_what_the_web_server_serves_is_not(
    tmp_path: Path,
) -> None:
    settings = load_settings(tmp_path / "var")
    prepare_files(settings)
    paths = settings.paths
    assert mode(paths.root) == 0o711  # others pass through, never list
    assert readable_by_others(settings) == []
    for public in (paths.root / "well-known" / "matrix" / "client", paths.element / "config.json"):
        assert mode(public) == 0o644 and mode(public.parent) == 0o755


def test_doctor_explains_a_secrets_file_that_cannot_be_read(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "var")
    prepare_files(settings)
    settings.paths.secrets.write_text('macaroon_secret_key = "unfinished\n')
    problems = [f for f in examine(settings.paths.root) if f.severity is Severity.PROBLEM]
    assert any(
        "cannot be read" in f.what and "restore it from your backup" in f.what for f in problems
    )
