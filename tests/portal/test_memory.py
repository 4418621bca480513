"""Anonymous posts full of made-up values leave nothing behind in the portal's memory.

The form's choices are rendered from caches; a value a post makes up must never
become a key of one, or every bad post would keep its values (up to a megabyte)
until the cache is full.
"""

from __future__ import annotations

import gc
import re
import tracemalloc

import aiohttp
from aiohttp.test_utils import TestServer

from portal.keys import SIGN_INS
from tests.portal.conftest import standalone_app
from tests.portal.helpers import form, volunteer_form

JUNK = 120 * 1024  # five such fields stay under the portal's 1 MiB body limit
POSTS = 100


def made_up(n: int, field: str) -> str:
    return f"{field}-{n}-" + "x" * JUNK


def bad_sign_up(n: int, token: str) -> list[tuple[str, str]]:
    """A sign-up whose every choice is made up (and so is rejected)."""
    return form(
        volunteer_form(
            csrf_token=token,
            municipality=made_up(n, "municipality"),
            gender=made_up(n, "gender"),
            languages=[made_up(n, "languages")],
            contact_modes=[made_up(n, "contact_modes")],
            availability=[made_up(n, "availability")],
        )
    )


async def post(client: aiohttp.ClientSession, url: str, data: object) -> int:
    async with client.post(url, data=data) as response:
        await response.read()  # read and released: the client keeps nothing
        return response.status


async def traced_growth(client: aiohttp.ClientSession, base: str, posts: int, token: str) -> int:
    """Bytes still allocated after ``posts`` bad sign-ups and sign-ins, once garbage is gone."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(posts):
            assert await post(client, f"{base}/frivillig", bad_sign_up(n, token)) == 400
            sign_in = {"csrf_token": token, "user": made_up(n, "user"), "password": "x"}
            assert await post(client, f"{base}/log-ind", sign_in) == 400
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


async def test_a_hundred_bad_anonymous_posts_do_not_grow_the_portal(tmp_path) -> None:
    server = TestServer(standalone_app(tmp_path), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.get(f"{base}/frivillig") as response:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
            assert token is not None
            # The first renders fill the caches of the valid lists.
            await traced_growth(client, base, 3, token.group(1))
            growth = await traced_growth(client, base, POSTS, token.group(1))
        # Each post carried over 700 KiB of made-up values; kept, they would be 70 MiB.
        print(f"portal kept {growth / 2**20:.2f} MiB after {POSTS} bad posts")
        assert growth < 2 * 1024 * 1024, f"the portal kept {growth / 2**20:.1f} MiB"
        assert not server.app[SIGN_INS]._failures  # a too-long user name is never counted
    finally:
        await server.close()
