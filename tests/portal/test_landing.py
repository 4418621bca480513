"""The front page speaks to an older person, or a relative, before it speaks to volunteers."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from tests.portal.conftest import standalone_app


async def test_an_older_person_reads_that_it_is_free_and_whom_to_call(tmp_path: Path) -> None:
    (tmp_path / "connec.toml").write_text(
        '[[help.lines]]\nphone = "98 49 10 00"\nmunicipality = "Læsø"\n'
        '[[help.lines]]\nphone = "70 10 20 30"\n'
    )
    client = TestClient(TestServer(standalone_app(tmp_path)))
    await client.start_server()
    try:
        page = await (await client.get("/")).text()
    finally:
        await client.close()
    want = page.index("Vil du have en besøgsven?")
    assert want < page.index('id="volunteer"')  # before the volunteers' part
    assert "Det er gratis" in page and "på vegne af en, du kender" in page
    assert "I Læsø: ring på" in page and "98 49 10 00" in page
    assert "Andre steder: ring til kommunen på" in page and "70 10 20 30" in page
    assert "Mandag–fredag kl. 09.00–15.00" in page
    assert "fremskudt" not in page  # office language


async def test_without_a_help_line_the_page_says_to_call_the_municipality(
    portal: TestClient,
) -> None:
    page = await (await portal.get("/")).text()
    assert "Ring til din kommune, og spørg efter en online besøgsven" in page
