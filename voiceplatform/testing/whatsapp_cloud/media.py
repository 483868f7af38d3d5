"""Media the emulated account holds: what users sent (voice notes...) and what the business
uploaded. ``GET /{version}/{media-id}`` answers {url, mime_type, sha256, file_size, id}; the
url, fetched with the bearer token, gives the bytes (Meta's lookaside URL shape)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from voiceplatform.testing.whatsapp_cloud.ids import media_id

#: a tiny Ogg/Opus-looking voice note (the server never decodes media)
VOICE_NOTE_BYTES = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead\x01\x01" + b"\x00" * 32


@dataclass(frozen=True)
class Media:
    id: str
    mime_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class MediaStore:
    def __init__(self) -> None:
        self._media: dict[str, Media] = {}

    def add(self, data: bytes, mime_type: str) -> Media:
        media = Media(media_id(), mime_type, data)
        self._media[media.id] = media
        return media

    def get(self, media_id: str) -> Media | None:
        return self._media.get(media_id)

    def url(self, base_url: str, media: Media) -> str:
        ext = media.mime_type.split(";")[0].split("/")[-1]
        return f"{base_url}/whatsapp_business/attachments/?mid={media.id}&ext={ext}&source=getMedia"

    def describe(self, base_url: str, media: Media) -> dict[str, object]:
        return {"messaging_product": "whatsapp", "url": self.url(base_url, media),
                "mime_type": media.mime_type, "sha256": media.sha256,
                "file_size": len(media.data), "id": media.id}
