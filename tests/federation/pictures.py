"""Pictures as Element sends them in an encrypted room: the file encrypted on the
device, uploaded to the sender's own server, and the key in the (encrypted) event."""

from __future__ import annotations

import io
from typing import Any

import nio
from nio.crypto.attachments import decrypt_attachment

from tests.harness import eventually, reader_of


async def send_picture(client: nio.AsyncClient, room_id: str, data: bytes, name: str) -> str:
    """Upload ``data`` encrypted and send it as an image; answers the event ID."""
    uploaded, keys = await client.upload(
        io.BytesIO(data),
        content_type="image/png",
        filename=name,
        encrypt=True,
        filesize=len(data),
    )
    assert isinstance(uploaded, nio.UploadResponse), uploaded
    assert keys is not None
    content: dict[str, Any] = {
        "msgtype": "m.image",
        "body": name,
        "info": {"mimetype": "image/png", "size": len(data)},
        "file": {"url": uploaded.content_uri, **keys},
    }
    sent = await client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(sent, nio.RoomSendResponse), sent
    return sent.event_id


async def receive_picture(client: nio.AsyncClient, room_id: str, sender: str) -> tuple[bytes, str]:
    """The newest picture ``sender`` sent to the room, fetched through this client's own
    server (which fetches it from the sender's server) and decrypted; and its address."""
    reader = reader_of(client)

    async def picture() -> nio.RoomEncryptedImage | None:
        await reader.sync()
        found = [
            e
            for e in reader.events(room_id)
            if isinstance(e, nio.RoomEncryptedImage) and e.sender == sender
        ]
        return found[-1] if found else None

    event = await eventually(picture, what=f"a picture from {sender}")
    downloaded = await client.download(event.url)
    assert isinstance(downloaded, nio.DownloadResponse), downloaded
    assert downloaded.body != b""
    data = decrypt_attachment(downloaded.body, event.key["k"], event.hashes["sha256"], event.iv)
    return data, event.url
