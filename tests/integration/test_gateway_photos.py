"""Report photos through the gateway: uploaded, cleaned, stored, and served only to those who
may see them — a real gateway on the real broker, with a stand-in tickets service.

The stand-in is a real nameko service named "tickets" on the same broker, answering the three
calls the photo routes make with the tickets the test sets up (``photo_ids`` as the tickets
service's answers carry them), so these tests don't wait on that service's own work.
Every image is made here with Pillow.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import eventlet
import pytest
import requests
from eventlet import patcher
from PIL import ExifTags, Image

from gateway.photos import PhotoDesk
from lianxin import photos
from lianxin.auth import Caller
from lianxin.contracts.tickets import operations as tk
from lianxin.errors import Forbidden, InvalidInput, NotFound
from lianxin.rpc import rpc
from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
#: Latin words a Chinese message may hold: names of formats, fields and the auth scheme.
NAMES = {"JPG", "PNG", "MB", "photo", "multipart", "form", "data", "Bearer"}
FOLLOW_CODE = "K7Q2M9XP"
#: What the stand-in answers: ticket id → its answer (set by each test).
TICKETS: dict[str, dict[str, Any]] = {}
#: Whether the center shows photos on the public follow page (the center's public_photos).
SETTINGS = {"public_photos": False}


class StandInTickets:
    """The tickets service as the photo routes see it."""

    name = "tickets"
    caller = Caller()

    @rpc
    def get_center(self, center_id: str) -> dict[str, Any]:
        if center_id != CENTER:
            raise NotFound("服务中心不存在", code="CENTER_NOT_FOUND")
        return {"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"}

    @rpc
    def get_ticket(self, center_id: str, ticket_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, tk.get_ticket)
        ticket = self._ticket(center_id, ticket_id)
        if principal.role == "resident" and ticket["reporter_id"] != principal.id:
            raise Forbidden("只能查看本人反映的诉求")
        return ticket

    @rpc
    def get_public_ticket(
        self, center_id: str, ticket_id: str, query: dict[str, Any]
    ) -> dict[str, Any]:
        ticket = self._ticket(center_id, ticket_id)
        if query.get("code") != FOLLOW_CODE:
            raise NotFound("工单不存在", code="TICKET_NOT_FOUND")
        shown = ticket["photo_ids"] if SETTINGS["public_photos"] else []
        return {**ticket, "photo_ids": shown}

    def _ticket(self, center_id: str, ticket_id: str) -> dict[str, Any]:
        if center_id != CENTER or ticket_id not in TICKETS:
            raise NotFound("工单不存在", code="TICKET_NOT_FOUND")
        return TICKETS[ticket_id]


@pytest.fixture
def photo_root(tmp_path):
    return tmp_path / "photo-store"


@pytest.fixture
def gateway(container_factory, service_config, rabbit_config, photo_root):
    from gateway.service import GatewayService

    TICKETS.clear()
    SETTINGS["public_photos"] = False
    port = free_port()
    container_factory(StandInTickets, {"AMQP_URI": rabbit_config["AMQP_URI"]}).start()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            PHOTO_STORAGE=f"file://{photo_root}",
            PUBLIC_BURST=1000,
        ),
    ).start()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def staff(token):
    return {"Authorization": f"Bearer {token('staff')}"}


# --- images ---------------------------------------------------------------------------------


def phone_photo(size=(1600, 1200)) -> bytes:
    """A JPEG as a phone writes it: camera, time taken and the GPS position in its EXIF."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.DateTime] = "2026:11:27 09:30:00"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (30.0, 15.0, 36.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (120.0, 9.0, 0.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(out, "PNG")
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def stored(root) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(base: str, data: bytes, *, name="photo.jpg", kind="image/jpeg", headers=None, path=None):
    """A form upload, as a web page sends it."""
    return requests.post(
        base + (path or f"/api/v1/public/centers/{CENTER}/photos"),
        files={"photo": (name, data, kind)},
        headers=headers,
        timeout=30,
    )


def refused(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert set(re.findall(r"[A-Za-z]+", body["detail"])) <= NAMES, body["detail"]
    return body


# --- upload ---------------------------------------------------------------------------------


def test_an_uploaded_phone_photo_is_stored_without_exif_and_served_to_staff(
    gateway, photo_root, staff
):
    original = phone_photo()
    assert opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it does carry a position

    answer = upload(gateway, original)
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    photo_id = receipt["photo_id"]
    assert set(receipt) == {"photo_id", "media_url", "thumbnail_url"}
    assert stored(photo_root) == sorted([f"{photo_id}.jpg", f"{photo_id}_thumb.jpg"])

    kept = photos.LocalStore(photo_root).get(CENTER, photo_id)
    assert dict(opened(kept).getexif()) == {} and b"Xiaomi" not in kept
    assert opened(kept).size == (1600, 1200)

    # The uploader sees it before the report is sent, through the signed links only.
    preview = requests.get(gateway + receipt["media_url"], timeout=10)
    assert preview.status_code == 200 and preview.content == kept
    thumb = requests.get(gateway + receipt["thumbnail_url"], timeout=10)
    assert max(opened(thumb.content).size) == photos.THUMB_SIDE
    forged = receipt["media_url"].replace("signature=", "signature=0")
    expired = refused(requests.get(gateway + forged, timeout=10), 404, "PHOTO_LINK_EXPIRED")
    assert expired["detail"] == "照片链接无效或已过期"
    longer = re.sub(
        r"expires=(\d+)", lambda m: f"expires={int(m[1]) + 86400}", receipt["media_url"]
    )
    refused(requests.get(gateway + longer, timeout=10), 404, "PHOTO_LINK_EXPIRED")

    TICKETS["t-1"] = {"id": "t-1", "reporter_id": "resident-1", "photo_ids": [photo_id]}
    served = requests.get(f"{gateway}/api/v1/tickets/t-1/photos/{photo_id}", headers=staff)
    assert served.status_code == 200 and served.content == kept
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["Cache-Control"] == "private, max-age=86400"
    small = requests.get(
        f"{gateway}/api/v1/tickets/t-1/photos/{photo_id}", params={"thumbnail": 1}, headers=staff
    )
    assert small.status_code == 200 and opened(small.content).size == (320, 240)


def test_a_raw_image_body_is_taken_as_a_form_is(gateway, photo_root, token):
    resident = {"Authorization": f"Bearer {token('resident')}", "Content-Type": "image/png"}
    answer = requests.post(f"{gateway}/api/v1/photos", data=png(), headers=resident, timeout=30)
    assert answer.status_code == 201, answer.text
    photo_id = answer.json()["photo_id"]
    assert opened(photos.LocalStore(photo_root).get(CENTER, photo_id)).format == "JPEG"

    chunked = requests.post(
        f"{gateway}/api/v1/photos",
        data=iter([png()[:100], png()[100:]]),  # no Content-Length: sent in chunks
        headers=resident,
        timeout=30,
    )
    assert chunked.status_code == 201, chunked.text
    assert len(stored(photo_root)) == 4


def test_what_is_not_a_whole_photo_is_refused_in_chinese_and_nothing_is_stored(
    gateway, photo_root, staff
):
    text = upload(gateway, "请尽快处理楼道垃圾".encode(), name="note.txt", kind="text/plain")
    assert "JPG" in refused(text, 422, photos.NOT_IMAGE)["detail"]

    jpeg = phone_photo()
    cut = upload(gateway, jpeg[: len(jpeg) // 2])
    assert refused(cut, 422, photos.DAMAGED)["detail"] == "图片文件不完整，请重新拍摄或上传"

    empty = upload(gateway, b"")
    assert refused(empty, 422, photos.EMPTY)["detail"] == "没有收到照片，请重新上传"

    missing = requests.post(
        f"{gateway}/api/v1/photos", files={"picture": ("a.jpg", jpeg)}, headers=staff, timeout=30
    )
    assert refused(missing, 422, "PHOTO_MISSING")["errors"] == {"photo": ["必填项"]}

    as_json = requests.post(f"{gateway}/api/v1/photos", json={"photo": "x"}, headers=staff)
    refused(as_json, 415, "UNSUPPORTED_MEDIA_TYPE")

    unknown = upload(gateway, jpeg, path="/api/v1/public/centers/nowhere/photos")
    assert refused(unknown, 404, "CENTER_NOT_FOUND")["detail"] == "服务中心不存在"

    assert stored(photo_root) == []


def test_a_photo_over_5_mb_is_413_declared_chunked_or_in_a_form(gateway, photo_root, staff):
    jpeg = phone_photo()
    oversize = jpeg + b"\0" * (photos.MAX_BYTES + 1 - len(jpeg))  # a valid JPEG, padded
    assert len(oversize) == photos.MAX_BYTES + 1

    declared = requests.post(
        f"{gateway}/api/v1/photos",
        data=oversize,
        headers={**staff, "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert refused(declared, 413, photos.TOO_LARGE)["detail"] == "照片不能超过 5 MB"

    def pieces():
        for at in range(0, len(oversize), 256 * 1024):
            yield oversize[at : at + 256 * 1024]

    chunked = requests.post(
        f"{gateway}/api/v1/photos",
        data=pieces(),
        headers={**staff, "Content-Type": "image/jpeg"},
        timeout=30,
    )
    refused(chunked, 413, photos.TOO_LARGE)
    refused(upload(gateway, oversize), 413, photos.TOO_LARGE)

    # The JSON limit of 64 KB is not the photos' limit: exactly 5 MB is taken.
    exactly = jpeg + b"\0" * (photos.MAX_BYTES - len(jpeg))
    assert upload(gateway, exactly).status_code == 201
    assert len(stored(photo_root)) == 2


# --- serving --------------------------------------------------------------------------------


@pytest.fixture
def on_ticket(gateway):
    """Two photos uploaded; the first is on ticket t-1, the second on no ticket."""
    first, second = (upload(gateway, png((800, 600))).json()["photo_id"] for _ in range(2))
    TICKETS["t-1"] = {"id": "t-1", "reporter_id": "resident-1", "photo_ids": [first]}
    return first, second


def test_a_photo_not_on_the_ticket_is_404_in_chinese(gateway, staff, on_ticket, token):
    first, second = on_ticket
    base = f"{gateway}/api/v1/tickets"
    other = refused(
        requests.get(f"{base}/t-1/photos/{second}", headers=staff), 404, "PHOTO_NOT_FOUND"
    )
    assert other["detail"] == "该工单没有这张照片"
    nosuch = requests.get(f"{base}/t-9/photos/{first}", headers=staff)
    assert refused(nosuch, 404, "TICKET_NOT_FOUND")["detail"] == "工单不存在"
    refused(requests.get(f"{base}/t-1/photos/not-a-photo", headers=staff), 404, "PHOTO_NOT_FOUND")

    # Who may read the ticket is the tickets service's to say: its reporter, not a neighbour.
    reporter = {"Authorization": f"Bearer {token('resident', sub='resident-1')}"}
    assert requests.get(f"{base}/t-1/photos/{first}", headers=reporter).status_code == 200
    neighbour = {"Authorization": f"Bearer {token('resident', sub='resident-2')}"}
    refused(requests.get(f"{base}/t-1/photos/{first}", headers=neighbour), 403, "FORBIDDEN")
    volunteer = {"Authorization": f"Bearer {token('volunteer')}"}
    refused(requests.get(f"{base}/t-1/photos/{first}", headers=volunteer), 403, "ROLE_FORBIDDEN")
    refused(requests.get(f"{base}/t-1/photos/{first}"), 401, "TOKEN_MISSING")


def test_the_follow_page_shows_a_photo_only_when_the_ticket_answer_lists_it(gateway, on_ticket):
    first, second = on_ticket
    url = f"{gateway}/api/v1/public/centers/{CENTER}/tickets/t-1/photos/{first}"

    hidden = requests.get(url, params={"code": FOLLOW_CODE}, timeout=10)
    assert refused(hidden, 404, "PHOTO_NOT_FOUND")["detail"] == "该工单没有这张照片"

    SETTINGS["public_photos"] = True
    shown = requests.get(url, params={"code": FOLLOW_CODE}, timeout=10)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
    assert shown.headers["Cache-Control"] == "private, max-age=86400"
    thumb = requests.get(url, params={"code": FOLLOW_CODE, "thumbnail": "1"}, timeout=10)
    assert opened(shown.content).size == (800, 600)
    assert thumb.status_code == 200 and opened(thumb.content).size == (320, 240)

    refused(requests.get(url, params={"code": "WRONG-CODE"}, timeout=10), 404, "TICKET_NOT_FOUND")
    refused(requests.get(url, timeout=10), 422, "INVALID_INPUT")
    not_listed = url.replace(first, second)
    refused(requests.get(not_listed, params={"code": FOLLOW_CODE}), 404, "PHOTO_NOT_FOUND")


# --- the desk itself (no broker) ------------------------------------------------------------


@pytest.fixture
def desk(tmp_path):
    return PhotoDesk(photos.LocalStore(tmp_path / "photos"), preview_key=b"k" * 32)


def test_intake_checks_photo_ids_against_the_store(desk):
    kept = [photos.process(png()) for _ in range(4)]
    for photo in kept:
        desk.store.put(photo, center_id=CENTER)
    ids = [p.id for p in kept]

    desk.check_ids(CENTER, [])
    desk.check_ids(CENTER, ids[:3])
    cases = [
        (ids, photos.TOO_MANY, "每份诉求最多上传 3 张照片"),
        ([ids[0], ids[0]], "PHOTO_REPEATED", "同一张照片只能添加一次"),
        ([ids[0], "0" * 32], photos.PHOTO_NOT_FOUND, "照片不存在或已过期，请重新上传"),
        (["../../secrets"], photos.PHOTO_NOT_FOUND, "照片不存在或已过期，请重新上传"),
    ]
    for given, code, message in cases:
        with pytest.raises(InvalidInput) as err:
            desk.check_ids(CENTER, given)
        assert err.value.code == code and err.value.fields == {"photo_ids": [message]}
    with pytest.raises(InvalidInput):  # a photo of another center is not this center's
        desk.check_ids("fenghuangtai", ids[:1])


def test_processing_runs_off_the_hub_two_at_a_time(desk, monkeypatch):
    blocking_sleep = patcher.original("time").sleep
    lock = patcher.original("threading").Lock()
    running, most = [0], [0]

    def slow_process(data: bytes) -> str:  # CPU-bound work, as far as the hub can tell
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        blocking_sleep(0.3)
        with lock:
            running[0] -= 1
        return "done"

    monkeypatch.setattr(photos, "process", slow_process)
    ticks: list[float] = []

    def tick() -> None:
        for _ in range(40):
            eventlet.sleep(0.02)
            ticks.append(time.monotonic())

    ticker = eventlet.spawn(tick)
    started = time.monotonic()
    results = list(eventlet.GreenPool(4).imap(desk.process, [b"x"] * 4))
    elapsed = time.monotonic() - started
    ticker.kill()

    assert results == ["done"] * 4 and most[0] == 2
    assert elapsed >= 0.55  # four of 0.3 s, two at a time
    assert len(ticks) >= 10  # other green threads ran meanwhile


def test_preview_links_expire_and_are_bound_to_the_photo(desk):
    now = 1_800_000_000
    query = dict(pair.split("=") for pair in desk.preview_query(CENTER, "a" * 32, now).split("&"))
    expires, signature = int(query["expires"]), query["signature"]
    assert desk.preview_allowed(CENTER, "a" * 32, expires, signature, now=now + 60)
    assert not desk.preview_allowed(CENTER, "a" * 32, expires, signature, now=expires + 1)
    assert not desk.preview_allowed(CENTER, "b" * 32, expires, signature, now=now)
    assert not desk.preview_allowed("fenghuangtai", "a" * 32, expires, signature, now=now)
    assert not desk.preview_allowed(CENTER, "a" * 32, expires + 3600, signature, now=now)
