"""Someone (or something) posts a body that is no readable form: a kind 4xx page, never a 500."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.portal.helpers import token_for

MULTIPART = "multipart/form-data; boundary=xyz"
URLENCODED = "application/x-www-form-urlencoded"

BODIES = {
    "bytes that are not UTF-8": (b"name=\xff\xfe&csrf_token=T", URLENCODED),
    "a charset nobody knows": (b"name=Anna&csrf_token=T", URLENCODED + "; charset=bogus"),
    "a multipart body without its boundary": (b"garbage", MULTIPART),
    "a multipart type without a boundary": (b"garbage", "multipart/form-data"),
    "a multipart body cut short": (
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnna',
        MULTIPART,
    ),
    "a multipart field that is not UTF-8": (
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\xfe\r\n--xyz--\r\n',
        MULTIPART,
    ),
    "a multipart field in a charset nobody knows": (
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n'
        b"Content-Type: text/plain; charset=bogus\r\n\r\nAnna\r\n--xyz--\r\n",
        MULTIPART,
    ),
    "a multipart field in an unknown transfer encoding": (
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n'
        b"Content-Transfer-Encoding: bogus\r\n\r\nAnna\r\n--xyz--\r\n",
        MULTIPART,
    ),
    "a multipart field without a name": (
        b"--xyz\r\nContent-Disposition: form-data\r\n\r\nAnna\r\n--xyz--\r\n",
        MULTIPART,
    ),
}


@pytest.mark.parametrize("what", list(BODIES))
@pytest.mark.parametrize("lang", ["da", "en"])
async def test_an_unreadable_body_gets_a_kind_400_in_the_persons_language(
    portal: TestClient, what: str, lang: str
) -> None:
    body, content_type = BODIES[what]
    await token_for(portal, "/frivillig")  # a session, as a browser would have
    for path in ("/frivillig", "/log-ind"):
        response = await portal.post(
            path,
            data=body,
            headers={"Content-Type": content_type},
            cookies={"connec_lang": lang},
        )
        assert response.status == 400, what
        page = await response.text()
        expected = (
            "connec kunne ikke læse formularen"
            if lang == "da"
            else "connec could not read the form"
        )
        assert expected in page, page


async def test_a_form_over_one_megabyte_gets_a_kind_413(portal: TestClient) -> None:
    token = await token_for(portal, "/frivillig")
    response = await portal.post(
        "/frivillig", data={"csrf_token": token, "motivation": "x" * (1024 * 1024 + 1)}
    )
    assert response.status == 413
    assert "Formularen var for lang" in await response.text()
