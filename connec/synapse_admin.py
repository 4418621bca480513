"""A small client for Synapse's admin API and the few client-server calls connec
makes outside the bots (init, the portal, the test harness).

Every call raises :class:`SynapseUnavailable` when Synapse cannot be reached, so
callers can show a kind message and leave nothing half-made.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import aiohttp


class SynapseError(RuntimeError):
    """Synapse answered with a Matrix error."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error


class SynapseUnavailable(RuntimeError):
    """Synapse could not be reached at all."""


def registration_mac(
    shared_secret: str, nonce: str, username: str, password: str, admin: bool, user_type: str | None
) -> str:
    """The HMAC-SHA1 the shared-secret registration API asks for."""
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    parts = [nonce, username, password, "admin" if admin else "notadmin"]
    if user_type:
        parts.append(user_type)
    mac.update(b"\x00".join(part.encode() for part in parts))
    return mac.hexdigest()


class SynapseAdmin:
    """Admin and client-server calls against one homeserver."""

    def __init__(
        self,
        base_url: str,
        *,
        shared_secret: str | None = None,
        admin_token: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shared_secret = shared_secret
        self.admin_token = admin_token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SynapseAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One HTTP call; the JSON answer, or a :class:`SynapseError`."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, params=params, headers=headers
            ) as response:
                body = await response.json(content_type=None)
                if response.status >= 400:
                    body = body or {}
                    raise SynapseError(
                        response.status, body.get("errcode", ""), body.get("error", "")
                    )
                return body
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise SynapseUnavailable(f"Synapse at {self.base_url} is not reachable: {exc}") from exc

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        if not self.admin_token:
            raise RuntimeError("an admin access token is needed for this call")
        return await self.request(
            method, "/_synapse/admin" + path, token=self.admin_token, **kwargs
        )

    # Accounts -----------------------------------------------------------------

    async def register(
        self,
        localpart: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
        user_type: str | None = None,
    ) -> dict[str, Any]:
        """Create an account with the shared secret; answers user_id, access_token, device_id."""
        if not self.shared_secret:
            raise RuntimeError("the registration shared secret is needed to register users")
        nonce = (await self.request("GET", "/_synapse/admin/v1/register"))["nonce"]
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": registration_mac(
                self.shared_secret, nonce, localpart, password, admin, user_type
            ),
        }
        if displayname:
            body["displayname"] = displayname
        if user_type:
            body["user_type"] = user_type
        return dict(await self.request("POST", "/_synapse/admin/v1/register", json=body))

    async def get_user(self, user_id: str) -> dict[str, Any] | None:
        """The admin view of an account, or None if there is none."""
        try:
            return dict(await self.admin("GET", f"/v2/users/{quote(user_id)}"))
        except SynapseError as exc:
            if exc.status == 404:
                return None
            raise

    async def update_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Create or modify an account (PUT /_synapse/admin/v2/users)."""
        return dict(await self.admin("PUT", f"/v2/users/{quote(user_id)}", json=fields))

    async def exempt_from_rate_limits(self, user_id: str) -> None:
        await self.admin(
            "POST",
            f"/v1/users/{quote(user_id)}/override_ratelimit",
            json={"messages_per_second": 0, "burst_count": 0},
        )

    async def deactivate(self, user_id: str, *, erase: bool = True) -> None:
        """Deactivate an account; with ``erase`` Synapse also forgets its messages for others."""
        await self.admin("POST", f"/v1/deactivate/{quote(user_id)}", json={"erase": erase})

    async def login(
        self,
        user_id: str,
        password: str,
        device_id: str | None = None,
        *,
        client_address: str | None = None,
        secure: bool = False,
    ) -> dict[str, Any]:
        """Password login through the client-server API.

        ``client_address``: the address of the person signing in, when the call is
        made for them (the portal); Synapse counts its sign-in limits against it.
        """
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
        }
        if device_id:
            body["device_id"] = device_id
        headers = {}
        if client_address:
            headers = {
                "X-Forwarded-For": client_address,
                "X-Forwarded-Proto": "https" if secure else "http",
            }
        return dict(
            await self.request("POST", "/_matrix/client/v3/login", json=body, headers=headers)
        )

    async def health(self) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(self.base_url + "/health") as response:
                return response.status == 200
        except (aiohttp.ClientConnectionError, TimeoutError):
            return False
