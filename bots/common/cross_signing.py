"""Cross-signing for the bots' own devices.

Element leaves devices out of encrypted rooms unless their owner has cross-signed
them, and matrix-nio does not cross-sign. So each bot makes its own cross-signing
identity once (master, self-signing and user-signing Ed25519 keys), keeps the
private seeds in a 0600 file so later starts reuse them, and signs whichever device
it is running as with the self-signing key.

The chain another client checks is: master key → self-signing key → device keys.
:func:`verify_chain` checks exactly that from a raw ``/keys/query`` answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import nio
from signedjson.key import (
    SigningKey,
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

from connec.secrets import write_private

logger = logging.getLogger(__name__)

KEYS_QUERY = "/_matrix/client/v3/keys/query"
DEVICE_SIGNING_UPLOAD = "/_matrix/client/v3/keys/device_signing/upload"
SIGNATURES_UPLOAD = "/_matrix/client/v3/keys/signatures/upload"

JsonDict = dict[str, Any]


class CrossSigningError(RuntimeError):
    """The homeserver refused a cross-signing request."""


class CrossSigningOutcome(StrEnum):
    """What :func:`ensure_cross_signed` found and did."""

    CREATED = "created"
    """A new (or stored but unpublished) identity was uploaded and the device signed."""
    DEVICE_SIGNED = "device_signed"
    """The identity existed already; this device was not yet signed by it, and now is."""
    ALREADY_DONE = "already_done"
    """Nothing to do: the identity matches and the device carries a valid signature."""
    KEYS_LOST = "keys_lost"
    """The server has an identity whose private keys we do not hold; nothing was signed."""


@dataclass(frozen=True)
class CrossSigningResult:
    """The outcome, and the master key now published for the bot (if any)."""

    outcome: CrossSigningOutcome
    master_key: str | None

    @property
    def changed(self) -> bool:
        """Whether anything was uploaded to the homeserver."""
        return self.outcome in (CrossSigningOutcome.CREATED, CrossSigningOutcome.DEVICE_SIGNED)


@dataclass(frozen=True)
class CrossSigningKeys:
    """The three private cross-signing keys of one user."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        return cls(user_id, _new_key(), _new_key(), _new_key())

    @classmethod
    def load(cls, path: Path) -> CrossSigningKeys | None:
        """The keys stored at ``path``, or None if there is no such file."""
        if not path.exists():
            return None
        stored = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            user_id=stored["user_id"],
            master=_key_from_seed(stored["master"]),
            self_signing=_key_from_seed(stored["self_signing"]),
            user_signing=_key_from_seed(stored["user_signing"]),
        )

    def save(self, path: Path) -> None:
        seeds = {
            "user_id": self.user_id,
            "master": encode_signing_key_base64(self.master),
            "self_signing": encode_signing_key_base64(self.self_signing),
            "user_signing": encode_signing_key_base64(self.user_signing),
        }
        write_private(path, json.dumps(seeds, indent=2) + "\n")

    @property
    def master_public(self) -> str:
        return _public(self.master)

    @property
    def self_signing_public(self) -> str:
        return _public(self.self_signing)

    def public_key_objects(self) -> JsonDict:
        """The body of ``/keys/device_signing/upload`` (without auth)."""
        master = self._key_object(self.master, "master")
        self_signing = sign_json(
            self._key_object(self.self_signing, "self_signing"), self.user_id, self.master
        )
        user_signing = sign_json(
            self._key_object(self.user_signing, "user_signing"), self.user_id, self.master
        )
        return {
            "master_key": master,
            "self_signing_key": self_signing,
            "user_signing_key": user_signing,
        }

    def _key_object(self, key: SigningKey, usage: str) -> JsonDict:
        public = _public(key)
        return {"user_id": self.user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}


def _public(key: SigningKey) -> str:
    return encode_verify_key_base64(get_verify_key(key))


def _key_from_seed(seed: str) -> SigningKey:
    # Cross-signing key ids are "ed25519:<public key>", so the key's "version"
    # (which signedjson puts after "ed25519:") must be its own public key.
    key = decode_signing_key_base64("ed25519", "pending", seed)
    key.version = _public(key)
    return key


def _new_key() -> SigningKey:
    return _key_from_seed(encode_signing_key_base64(generate_signing_key("pending")))


# Checking a chain, as a client would --------------------------------------------


def _single_key(key_object: JsonDict) -> tuple[str, str]:
    """The (key id, public key) of a cross-signing key object holding exactly one key."""
    ((key_id, public),) = key_object["keys"].items()
    return key_id, public


def _verify(signed: JsonDict, user_id: str, key_id: str, public: str) -> None:
    algorithm, _, version = key_id.partition(":")
    verify_key = decode_verify_key_base64(algorithm, version, public)
    verify_signed_json(signed, user_id, verify_key)


def verify_chain(keys_query_response: JsonDict, user_id: str, device_id: str) -> bool:
    """Whether the answer proves ``device_id`` is cross-signed by ``user_id``'s identity.

    Checks that the master key is there with usage ``["master"]``, that it signed the
    self-signing key, that the self-signing key signed the device, and that the device
    signed its own keys.
    """
    try:
        master = keys_query_response["master_keys"][user_id]
        self_signing = keys_query_response["self_signing_keys"][user_id]
        device = keys_query_response["device_keys"][user_id][device_id]

        if master["usage"] != ["master"] or master["user_id"] != user_id:
            return False
        if self_signing["usage"] != ["self_signing"] or self_signing["user_id"] != user_id:
            return False
        if device["user_id"] != user_id or device["device_id"] != device_id:
            return False

        _verify(self_signing, user_id, *_single_key(master))
        _verify(device, user_id, *_single_key(self_signing))
        device_key_id = f"ed25519:{device_id}"
        _verify(device, user_id, device_key_id, device["keys"][device_key_id])
    except (KeyError, TypeError, ValueError, SignatureVerifyException):
        return False
    return True


# Talking to the homeserver -------------------------------------------------------


async def _request(
    client: nio.AsyncClient, method: str, path: str, body: JsonDict
) -> tuple[int, JsonDict]:
    """One authenticated JSON call through the client's own HTTP session."""
    response = await client.send(
        method,
        path,
        data=json.dumps(body),
        headers={
            "Authorization": f"Bearer {client.access_token}",
            "Content-Type": "application/json",
        },
    )
    async with response:
        return response.status, await response.json(content_type=None)


async def _query_own_keys(client: nio.AsyncClient) -> JsonDict:
    status, answer = await _request(
        client, "POST", KEYS_QUERY, {"device_keys": {client.user_id: []}}
    )
    if status != 200:
        raise CrossSigningError(f"/keys/query failed: {status} {answer}")
    return answer


def _published_key(keys_query_response: JsonDict, field: str, user_id: str) -> str | None:
    """The public key the server holds for ``field`` ("master_key", ...), if any."""
    # /keys/query answers "master_keys" where /keys/device_signing/upload takes "master_key".
    section = keys_query_response.get(f"{field}s", {}).get(user_id)
    return None if section is None else _single_key(section)[1]


async def _upload_identity(
    client: nio.AsyncClient, keys: CrossSigningKeys, password: str, published: JsonDict
) -> None:
    """Publish those of our public keys the server does not hold yet.

    Keys the server already holds are left out: Synapse files every cross-signing
    key as a hidden device and fails (500) when sent one it has. Synapse lets a user
    publish their first identity without user-interactive auth (MSC3967); changing
    one needs it, which is answered with the bot's password.
    """
    body = {
        field: key_object
        for field, key_object in keys.public_key_objects().items()
        if _published_key(published, field, client.user_id) != _single_key(key_object)[1]
    }
    status, answer = await _request(client, "POST", DEVICE_SIGNING_UPLOAD, body)
    if status == 401 and "flows" in answer:
        logger.info("Homeserver asks for the password to publish cross-signing keys")
        body["auth"] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": client.user_id},
            "password": password,
            "session": answer.get("session"),
        }
        status, answer = await _request(client, "POST", DEVICE_SIGNING_UPLOAD, body)
    if status != 200:
        raise CrossSigningError(f"publishing cross-signing keys failed: {status} {answer}")


async def _sign_device(
    client: nio.AsyncClient, keys: CrossSigningKeys, published_device: JsonDict
) -> None:
    """Sign the device with the self-signing key, and the master key with the device.

    The second signature lets the device trust its own identity without asking
    anyone; Element shows the identity as verified from this session.
    """
    device = {k: v for k, v in published_device.items() if k != "unsigned"}
    sign_json(device, client.user_id, keys.self_signing)

    master = keys.public_key_objects()["master_key"]
    device_signature = client.olm.sign_json(master)
    master["signatures"] = {client.user_id: {f"ed25519:{client.device_id}": device_signature}}

    status, answer = await _request(
        client,
        "POST",
        SIGNATURES_UPLOAD,
        {client.user_id: {client.device_id: device, keys.master_public: master}},
    )
    # Synapse answers 200 even when it rejects a signature; the reasons are in "failures".
    if status != 200 or answer.get("failures"):
        raise CrossSigningError(f"uploading signatures failed: {status} {answer}")


async def ensure_cross_signed(
    client: nio.AsyncClient, *, password: str, keys_path: Path, replace_lost: bool = False
) -> CrossSigningResult:
    """Make sure the client's device is cross-signed by its user's own identity.

    ``client`` must be logged in with encryption and have uploaded its device keys.
    Safe to call on every start: when the published identity matches the keys stored
    at ``keys_path`` and the device already carries a valid signature, nothing is sent.

    If the server holds an identity whose private keys are not at ``keys_path``, a
    warning is logged and nothing is signed, unless ``replace_lost`` is set: then a
    new identity replaces it (Synapse has no other way to drop a lost one).
    """
    user_id, device_id = client.user_id, client.device_id
    stored = CrossSigningKeys.load(keys_path)
    if stored is not None and stored.user_id != user_id:
        raise ValueError(
            f"{keys_path} holds cross-signing keys of {stored.user_id}, not {user_id}; "
            "each bot needs its own keys file."
        )

    answer = await _query_own_keys(client)
    published_master = _published_key(answer, "master_key", user_id)
    published_device = answer.get("device_keys", {}).get(user_id, {}).get(device_id)
    if published_device is None:
        raise CrossSigningError(
            f"device {device_id} of {user_id} has no published keys; upload them first."
        )

    if stored is not None and stored.master_public == published_master:
        if _published_key(answer, "self_signing_key", user_id) != stored.self_signing_public:
            # Our master key, but not our self-signing key (or none): publish ours.
            await _upload_identity(client, stored, password, answer)
        elif verify_chain(answer, user_id, device_id):
            return CrossSigningResult(CrossSigningOutcome.ALREADY_DONE, published_master)
        await _sign_device(client, stored, published_device)
        logger.info("Cross-signed device %s of %s", device_id, user_id)
        return CrossSigningResult(CrossSigningOutcome.DEVICE_SIGNED, stored.master_public)

    if published_master is not None and not replace_lost:
        logger.warning(
            "%s already has a cross-signing identity (master key %s) but %s does not hold "
            "its private keys, so device %s stays unsigned and Element users may not see "
            "the bot's encrypted messages. Calling ensure_cross_signed with "
            "replace_lost=True replaces that identity with a new one.",
            user_id,
            published_master,
            keys_path,
            device_id,
        )
        return CrossSigningResult(CrossSigningOutcome.KEYS_LOST, published_master)

    # No identity on the server yet (or one we are told to replace). Stored keys are
    # reused when the server has none: an earlier upload may have failed. New keys
    # are saved *before* publishing, so a crash in between cannot lose a published key.
    keys = stored if stored is not None and published_master is None else None
    if keys is None:
        keys = CrossSigningKeys.generate(user_id)
        keys.save(keys_path)
    await _upload_identity(client, keys, password, answer)
    await _sign_device(client, keys, published_device)
    logger.info("Published cross-signing identity %s for %s", keys.master_public, user_id)
    return CrossSigningResult(CrossSigningOutcome.CREATED, keys.master_public)
