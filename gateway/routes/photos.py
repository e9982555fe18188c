"""Routes of report photos: uploading one, and seeing those on a ticket.

A photo is uploaded on its own, before the report that names it: the answer's ``photo_id``
goes into the report's ``photo_ids`` (at most three). Residents upload without an account
under their center's public path; signed-in members under ``/api/v1/photos``. The body is a
``multipart/form-data`` form with the file in its field ``photo`` (what a web page's form
sends), or the image itself (``Content-Type: image/jpeg`` and the like). What is stored is
never the upload: see :mod:`lianxin.photos`.

Once on a ticket, a photo is served to those who may read the ticket (the tickets service
decides: staff, the resident who reported it) and, with the follow code, on the public
follow page when the center shows photos there. Until then only the uploader sees it,
through the signed preview links the upload answers with.
"""

from __future__ import annotations

import io
from typing import Any

from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.wrappers import Request, Response

from gateway.api import PUBLIC, ApiRequest, call, route
from gateway.base import GatewayBase
from gateway.http import HttpProblem
from lianxin import photos
from lianxin.contracts.schema import BaseSchema, load
from lianxin.contracts.tickets import operations as tk
from lianxin.errors import NotFound
from lianxin.roles import MEMBERS, RESIDENT_OR_STAFF

#: Room around the photo in a multipart form: boundaries, part headers, a few small fields.
FORM_OVERHEAD = 16 * 1024
#: Raw bodies taken as a photo (the content decides what it really is).
RAW_TYPES = ("application/octet-stream",)
#: A stored photo never changes: a browser may keep it for a day (never a shared cache:
#: the follow page's links carry the follow code).
CACHE = "private, max-age=86400"
FORM = "multipart/form-data"


class PhotoReceipt(BaseSchema):
    photo_id = fields.Str(metadata={"description": "放进诉求 photo_ids 的照片编号"})
    media_url = fields.Str(metadata={"description": "照片预览链接（上传者可用，1 小时内有效）"})
    thumbnail_url = fields.Str(metadata={"description": "缩略图预览链接"})


class PhotoQuery(BaseSchema):
    thumbnail = fields.Bool(load_default=False, metadata={"description": "1：缩略图"})


class PublicPhotoQuery(PhotoQuery):
    code = fields.Str(required=True, validate=validate.Length(min=6, max=32))


class PreviewQuery(PhotoQuery):
    expires = fields.Int(required=True)
    signature = fields.Str(required=True, validate=validate.Length(max=64))


def _too_large() -> HttpProblem:
    return HttpProblem(
        413,
        f"照片不能超过 {photos.MAX_BYTES // (1024 * 1024)} MB",
        photos.TOO_LARGE,
        fields={"photo": [f"不能超过 {photos.MAX_BYTES // (1024 * 1024)} MB"]},
    )


def upload_limit(request: Request) -> int:
    """How many bytes the upload's body may have; a body of another type, or declaring a
    bigger length, is refused here, before it is read (and before an RPC is spent on it)."""
    mimetype = request.mimetype or ""
    if mimetype == FORM:
        limit = photos.MAX_BYTES + FORM_OVERHEAD
    elif mimetype.startswith("image/") or mimetype in RAW_TYPES:
        limit = photos.MAX_BYTES
    else:
        raise HttpProblem(
            415,
            "请以表单（multipart/form-data，照片放在 photo 字段）或图片格式上传照片",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large()
    return limit


def read_upload(request: Request, limit: int) -> bytes:
    """The uploaded photo's bytes, reading at most ``limit`` + 1 bytes from the stream."""
    stream = request.stream
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", ""):
        # werkzeug hands an empty stream for a chunked body under eventlet's server, which
        # decodes the chunks itself on its own input.
        stream = request.environ["wsgi.input"]
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large()
    if request.mimetype != FORM:
        return bytes(raw)
    data = _form_photo(raw, request.mimetype_params)
    if len(data) > photos.MAX_BYTES:
        raise _too_large()
    return data


def _form_photo(raw: bytes, options: dict[str, str]) -> bytes:
    """The ``photo`` file of a multipart form, in memory (no temporary files): the whole form
    is already bounded by :func:`read_upload`, so only the number of its parts is limited."""
    parser = FormDataParser(
        stream_factory=lambda *args, **kwargs: io.BytesIO(), max_form_parts=10, silent=False
    )
    try:
        _, _, files = parser.parse(io.BytesIO(raw), FORM, len(raw), options)
    except RequestEntityTooLarge:
        raise HttpProblem(413, "表单内容过多，请只上传照片", "FORM_TOO_LARGE") from None
    except ValueError:
        raise HttpProblem(400, "表单格式有误，请重新上传", "MALFORMED_FORM") from None
    upload: FileStorage | None = files.get("photo")
    if upload is None:
        raise HttpProblem(
            422, "请在 photo 字段上传照片文件", "PHOTO_MISSING", fields={"photo": ["必填项"]}
        )
    return upload.stream.read()


class PhotoRoutes(GatewayBase):
    """Uploading a photo and serving the photos of a ticket."""

    # -- upload ----------------------------------------------------------------------------

    @route(
        "POST",
        "/api/v1/public/centers/<center_id>/photos",
        summary="上传诉求照片（免登录）",
        tag="public",
        roles=PUBLIC,
        response=PhotoReceipt,
        status=201,
    )
    def upload_public_photo(self, req: ApiRequest, center_id: str) -> Any:
        """A resident's photo for the report they are about to send (``multipart/form-data``
        with the file in ``photo``, or the image as the body; at most 5 MB). Throttled per
        client, as public intake is. 413 for a bigger file, 422 for what is not a photo."""
        self.throttle.check(req.request)
        limit = upload_limit(req.request)
        call(self.tickets_rpc.get_center, center_id, timeout=tk.get_center.timeout)
        return self._keep_upload(req.request, center_id, limit)

    @route(
        "POST",
        "/api/v1/photos",
        summary="上传照片",
        tag="tickets",
        roles=MEMBERS,
        response=PhotoReceipt,
        status=201,
    )
    def upload_photo(self, req: ApiRequest) -> Any:
        """A photo for a report of the caller's center (as the public upload takes it)."""
        assert req.center is not None  # a route with roles: the caller's center
        return self._keep_upload(req.request, req.center, upload_limit(req.request))

    def _keep_upload(self, request: Request, center_id: str, limit: int) -> dict[str, str]:
        photo = self.photos.process(read_upload(request, limit))
        self.photos.store.put(photo, center_id=center_id)
        preview = (
            f"/api/v1/public/centers/{center_id}/photos/{photo.id}?"
            + self.photos.preview_query(center_id, photo.id)
        )
        return {
            "photo_id": photo.id,
            "media_url": preview,
            "thumbnail_url": preview + "&thumbnail=1",
        }

    # -- serving ---------------------------------------------------------------------------

    @route(
        "GET",
        "/api/v1/tickets/<ticket_id>/photos/<photo_id>",
        summary="工单照片",
        tag="tickets",
        roles=RESIDENT_OR_STAFF,
        query=PhotoQuery,
    )
    def get_ticket_photo(self, req: ApiRequest, ticket_id: str, photo_id: str) -> Response:
        """A photo of a ticket the caller may read (``?thumbnail=1``: its thumbnail), as
        ``image/jpeg``."""
        assert req.center is not None
        ticket = call(
            self.tickets_rpc.get_ticket, req.center, ticket_id, timeout=tk.get_ticket.timeout
        )
        query = load(PhotoQuery, req.query)
        return self._serve_photo(req.center, ticket, photo_id, query["thumbnail"])

    @route(
        "GET",
        "/api/v1/public/centers/<center_id>/tickets/<ticket_id>/photos/<photo_id>",
        summary="诉求照片（凭查询码）",
        tag="public",
        roles=PUBLIC,
        query=PublicPhotoQuery,
    )
    def get_public_ticket_photo(
        self, req: ApiRequest, center_id: str, ticket_id: str, photo_id: str
    ) -> Response:
        """A photo of a followed ticket, with its follow code — only where the center shows
        photos on the follow page."""
        query = load(PublicPhotoQuery, req.query)
        ticket = call(
            self.tickets_rpc.get_public_ticket,
            center_id,
            ticket_id,
            {"code": query["code"]},
            timeout=tk.get_public_ticket.timeout,
        )
        return self._serve_photo(center_id, ticket, photo_id, query["thumbnail"])

    @route(
        "GET",
        "/api/v1/public/centers/<center_id>/photos/<photo_id>",
        summary="照片预览（上传者，凭签名链接）",
        tag="public",
        roles=PUBLIC,
        query=PreviewQuery,
    )
    def preview_photo(self, req: ApiRequest, center_id: str, photo_id: str) -> Response:
        """What an upload answered with as ``media_url`` / ``thumbnail_url``: the uploader sees
        the photo before the report is sent. The link is signed and lasts an hour."""
        query = load(PreviewQuery, req.query)
        if not self.photos.preview_allowed(
            center_id, photo_id, query["expires"], query["signature"]
        ):
            raise NotFound("照片链接无效或已过期", code="PHOTO_LINK_EXPIRED")
        return self._photo_response(
            center_id, photo_id, query["thumbnail"], "private, max-age=3600"
        )

    def _serve_photo(
        self, center_id: str, ticket: dict[str, Any], photo_id: str, thumbnail: bool
    ) -> Response:
        if photo_id not in (ticket.get("photo_ids") or []):
            raise NotFound("该工单没有这张照片", code=photos.PHOTO_NOT_FOUND)
        return self._photo_response(center_id, photo_id, thumbnail, CACHE)

    def _photo_response(
        self, center_id: str, photo_id: str, thumbnail: bool, cache: str
    ) -> Response:
        return Response(
            self.photos.store.get(center_id, photo_id, thumbnail=thumbnail),
            mimetype=photos.CONTENT_TYPE,
            headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
        )
