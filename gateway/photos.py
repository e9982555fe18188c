"""Report photos in the gateway: where they are stored, how an upload is processed, and the
checks intake makes before it names photos to the tickets service.

``self.photos`` in a route is a :class:`PhotoDesk`::

    photo = self.photos.process(data)            # InvalidInput (Chinese) if refused
    self.photos.store.put(photo, center_id=center)
    self.photos.check_ids(center, payload.get("photo_ids") or [])   # before the intake RPC

Processing is CPU-bound (a 12 MP phone JPEG costs ~0.35 s and ~80 MB; see
:func:`lianxin.photos.process`): run inline, it would stall every green thread of the
gateway for that long. It runs in one of eventlet's OS threads (Pillow releases the GIL
while it decodes and encodes), at most :data:`PROCESSING_SLOTS` at once so a burst of uploads
neither takes every core of the machine nor holds a quarter of a gigabyte each.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from gateway.http import HttpProblem
from lianxin import photos
from lianxin.config import var_dir
from lianxin.errors import InvalidInput
from lianxin.people import site_key

#: Uploads processed at once (the machine the gateway runs on has few cores to share).
PROCESSING_SLOTS = 2
#: How long an upload waits for a free slot before it is told to try again.
PROCESSING_WAIT_SECONDS = 30
#: How long the preview links an upload answers with keep working.
PREVIEW_SECONDS = 3600

MISSING_PHOTO = "照片不存在或已过期，请重新上传"


class PhotoDesk:
    """What routes see as ``self.photos``: the store, processing off the hub, id checks and the
    uploader's preview links."""

    def __init__(
        self,
        store: photos.PhotoStore,
        *,
        slots: int = PROCESSING_SLOTS,
        wait: float = PROCESSING_WAIT_SECONDS,
        preview_key: bytes = b"",
    ):
        self.store = store
        self._slots = Semaphore(slots)
        self._wait = wait
        self._preview_key = preview_key

    def __repr__(self) -> str:
        return f"PhotoDesk({self.store!r})"

    def process(self, data: bytes) -> photos.ProcessedPhoto:
        """:func:`lianxin.photos.process` in an OS thread, behind the slots; a 503 when every
        slot stays busy for :data:`PROCESSING_WAIT_SECONDS`."""
        if not self._slots.acquire(timeout=self._wait):
            raise HttpProblem(
                503,
                "照片处理繁忙，请稍后再试",
                "PHOTO_PROCESSING_BUSY",
                headers={"Retry-After": "5"},
            )
        try:
            result: photos.ProcessedPhoto = tpool.execute(photos.process, data)
            return result
        finally:
            self._slots.release()

    def check_ids(self, center_id: str, ids: Iterable[Any]) -> None:
        """Refuse (:class:`InvalidInput`, field ``photo_ids``) more than
        :data:`lianxin.photos.MAX_PHOTOS` ids, the same id twice, or an id that is not a
        photo of this center in the store. No ids at all is fine."""
        ids = list(ids)
        if len(ids) > photos.MAX_PHOTOS:
            message = f"每份诉求最多上传 {photos.MAX_PHOTOS} 张照片"
            raise InvalidInput(
                message,
                code=photos.TOO_MANY,
                fields={"photo_ids": [message]},
                extra={"max_photos": photos.MAX_PHOTOS},
            )
        if len(set(map(str, ids))) != len(ids):
            message = "同一张照片只能添加一次"
            raise InvalidInput(message, code="PHOTO_REPEATED", fields={"photo_ids": [message]})
        if not all(self._exists(center_id, photo_id) for photo_id in ids):
            raise InvalidInput(
                MISSING_PHOTO, code=photos.PHOTO_NOT_FOUND, fields={"photo_ids": [MISSING_PHOTO]}
            )

    def _exists(self, center_id: str, photo_id: Any) -> bool:
        try:
            return self.store.exists(center_id, photo_id)
        except InvalidInput:  # not even shaped like a photo id: no such photo
            return False

    # -- the uploader's preview ----------------------------------------------------------------

    def preview_query(self, center_id: str, photo_id: str, now: float | None = None) -> str:
        """``expires=…&signature=…``: lets whoever uploaded a photo see it before it is on a
        ticket. Photo ids travel on the bus; the signature never does, so knowing an id is
        not enough to see a photo."""
        expires = int(now if now is not None else time.time()) + PREVIEW_SECONDS
        return urlencode(
            {"expires": expires, "signature": self._sign(center_id, photo_id, expires)}
        )

    def preview_allowed(
        self, center_id: str, photo_id: str, expires: int, signature: str, now: float | None = None
    ) -> bool:
        """Whether a preview link is this gateway's and has not expired."""
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._sign(center_id, photo_id, expires), signature)

    def _sign(self, center_id: str, photo_id: str, expires: int) -> str:
        message = f"{center_id}/{photo_id}/{expires}".encode()
        return hmac.new(self._preview_key, message, hashlib.sha256).hexdigest()[:32]


class Photos(DependencyProvider):
    """The gateway's photos (config ``PHOTO_STORAGE``: empty for ``var/photos``, a
    ``file://`` folder, or ``s3://bucket/prefix?endpoint=…``; see
    :func:`lianxin.photos.store_from_url`)."""

    def setup(self) -> None:
        url = str(self.container.config.get("PHOTO_STORAGE") or "")
        # A key of its own for preview links, derived from the site key (no token is
        # signed with it: tokens are the accounts service's, with its private key).
        key = site_key("photo preview")
        self.desk = PhotoDesk(photos.store_from_url(url, var_dir()), preview_key=key)

    def get_dependency(self, worker_ctx: Any) -> PhotoDesk:
        return self.desk
