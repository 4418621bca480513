"""`connec people import --create-accounts`: no first password is ever lost.

Synapse is killed while it makes accounts (a loopback proxy in front of the real
Synapse passes the making of one account on and then drops every connection, as a
killed Synapse does); every password written stays valid, the next run finishes
with them, the file is appended to and never overwritten, and each run says which
accounts nobody has signed in to yet.
"""

from __future__ import annotations

import asyncio
import secrets
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from connec.accounts import create_missing_accounts
from connec.first_passwords import FirstPasswords
from connec.synapse_admin import SynapseAdmin, SynapseUnavailable
from connec.synapse_process import free_port
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


@asynccontextmanager
async def synapse_killed_at_account(url: str, number: int) -> AsyncIterator[str]:
    """A proxy to Synapse that dies as Synapse makes account ``number``."""
    made = 0
    dead = False

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal made, dead
        if dead:
            request.transport.close()  # type: ignore[union-attr]
            return web.Response()
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method,
                url + request.path_qs,
                data=await request.read(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            ) as answer,
        ):
            body = await answer.read()
        if request.method == "PUT" and request.path.startswith("/_synapse/admin/v2/users/"):
            made += 1
            if made == number:
                dead = True  # made in Synapse, but the answer never arrives
                request.transport.close()  # type: ignore[union-attr]
                return web.Response()
        return web.Response(body=body, status=answer.status, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def can_sign_in(synapse: SynapseHarness, user_id: str, password: str) -> bool:
    """Sign in as the person would, in an app that stays signed in."""
    try:
        await synapse.admin.login(user_id, password)
    except Exception:
        return False
    return True


async def test_a_crash_while_accounts_are_made_loses_no_first_password(
    synapse: SynapseHarness, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    people = [(f"@importeret-{tag}-{n}:{synapse.server_name}", f"Person {n}") for n in range(6)]
    ids = [user_id for user_id, _name in people]
    passwords = FirstPasswords(tmp_path / "first-passwords.csv")
    passwords.append("@earlier:elsewhere.test", "from-an-earlier-import")

    async with synapse_killed_at_account(synapse.url, 3) as dying_url:
        dying = SynapseAdmin(dying_url, admin_token=synapse.secrets.admin_access_token)
        with pytest.raises(SynapseUnavailable):
            await create_missing_accounts(
                dying, people, server_name=synapse.server_name, passwords=passwords
            )
        await dying.close()

    on_file = passwords.read()
    assert list(on_file) == ["@earlier:elsewhere.test", *ids[:3]]
    assert stat.S_IMODE(passwords.path.stat().st_mode) == 0o600
    for user_id in ids[:3]:  # the third was made as Synapse died: its password works
        assert await can_sign_in(synapse, user_id, on_file[user_id]), user_id
    # (Signing in above used accounts 0-2: they count as delivered from now on.)

    again = await create_missing_accounts(
        synapse.admin, people, server_name=synapse.server_name, passwords=passwords
    )
    assert again.made == ids[3:]
    assert again.waiting == ids[3:] and again.lost == []  # 0-2 have signed in
    lines = passwords.path.read_text().splitlines()
    assert lines[0] == "matrix_id,first_password" and len(lines) == 1 + 1 + 6  # appended, once
    assert passwords.read()["@earlier:elsewhere.test"] == "from-an-earlier-import"
    for user_id in ids[3:]:
        assert await can_sign_in(synapse, user_id, passwords.read()[user_id])

    # The operator deletes the file before everyone has their letter: a rerun says so.
    passwords.path.unlink()
    third = await create_missing_accounts(
        synapse.admin, people, server_name=synapse.server_name, passwords=passwords
    )
    assert third.made == [] and third.waiting == [] and third.lost == []  # all signed in above


async def test_a_rerun_lists_accounts_nobody_has_signed_in_to(
    synapse: SynapseHarness, tmp_path: Path
) -> None:
    tag = secrets.token_hex(3)
    people = [(f"@venter-{tag}-{n}:{synapse.server_name}", f"Venter {n}") for n in range(3)]
    ids = [user_id for user_id, _name in people]
    passwords = FirstPasswords(tmp_path / "first-passwords.csv")
    first = await create_missing_accounts(
        synapse.admin, people, server_name=synapse.server_name, passwords=passwords
    )
    assert first.made == ids and first.waiting == ids
    # The first person signs in (their letter arrived); the file then goes missing.
    await synapse.admin.login(ids[0], passwords.read()[ids[0]])
    rerun = await create_missing_accounts(
        synapse.admin, people, server_name=synapse.server_name, passwords=passwords
    )
    assert rerun.made == [] and rerun.waiting == ids[1:]
    passwords.path.unlink()
    lost = await create_missing_accounts(
        synapse.admin, people, server_name=synapse.server_name, passwords=passwords
    )
    assert lost.waiting == [] and lost.lost == ids[1:]


async def test_the_command_line_appends_and_reports(
    synapse: SynapseHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from connec.cli import main
    from connec.people_csv import COLUMNS

    tag = secrets.token_hex(3)
    path = tmp_path / "people.csv"
    path.write_text(
        ",".join(COLUMNS)
        + f"\ncitizen,@cli-{tag}:{synapse.server_name},Lis Lund,1950,,,,da,,,,,\n",
        encoding="utf-8",
    )
    data = str(synapse.settings.data_dir)
    args = ["people", "import", str(path), "--create-accounts", "--data-dir", data]
    assert await asyncio.to_thread(main, args) == 0
    assert await asyncio.to_thread(main, args) == 0
    out = capsys.readouterr().out
    assert "1 accounts made" in out
    assert f"@cli-{tag}:{synapse.server_name}" in out and "hand it on" in out
    on_file = FirstPasswords(synapse.settings.paths.first_passwords).read()
    assert await can_sign_in(
        synapse, f"@cli-{tag}:{synapse.server_name}", on_file[f"@cli-{tag}:{synapse.server_name}"]
    )
