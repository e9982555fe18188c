"""Report photos: checked, cleaned and stored outside the database (issue 14).

A photo arrives as bytes (web form, staff app, Open311). :func:`process` decides what it
really is from its content (never from its name or declared type), refuses what is not a
photo people can take, and re-encodes what it keeps::

    photo = photos.process(data)          # InvalidInput (Chinese detail, a code) if refused
    store.put(photo, center_id=center_id)  # then events and tickets carry ``photo.id`` only

Accepted: JPEG (also the multi-picture "MPO" JPEG some phones write), PNG, WebP and GIF
(the first frame). HEIF/HEIC is not: Pillow reads it only with the extra ``pillow-heif``
package, and phone browsers already convert HEIC to JPEG when uploading a photo.

What comes out is always a baseline RGB JPEG with the orientation applied and no metadata:
no EXIF (so no GPS position, camera serial or time taken), no XMP, no comments. The ICC
colour profile is kept when it describes RGB (a wide-gamut phone photo looks washed out
without it; it says nothing about the person), dropped otherwise.

Storage is a :class:`PhotoStore`: :class:`LocalStore` (a folder, ``var/photos`` by default)
or :class:`S3Store` (S3-compatible object storage). :func:`store_from_url` picks one from
the deployment's ``PHOTO_STORAGE`` URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import struct
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import (
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from lianxin.contracts.schema import CENTER_ID_RE
from lianxin.errors import InvalidInput, NotFound

MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
#: Pixels a photo may declare: 50 MP covers a 50-megapixel phone camera (8160×6120); above it
#: the file is refused before it is decoded (a tiny file can declare a huge image).
MAX_PIXELS = 50_000_000
#: Longest side of the stored image and of its thumbnail, in pixels.
MAX_SIDE = 2048
THUMB_SIDE = 320
QUALITY = 85
THUMB_QUALITY = 80
CONTENT_TYPE = "image/jpeg"

#: Pillow format names tried when opening: no other decoder is ever run on the bytes. Their
#: plugins are imported above because ``Image.open(formats=...)`` looks only among registered
#: ones (Pillow registers WebP lazily). The JPEG decoder also opens MPO, a JPEG with extra
#: frames that some phones write (its format then reads "MPO"; the first frame is kept).
ACCEPTED_FORMATS: tuple[str, ...] = tuple(
    plugin.format
    for plugin in (
        JpegImagePlugin.JpegImageFile,
        PngImagePlugin.PngImageFile,
        WebPImagePlugin.WebPImageFile,
        GifImagePlugin.GifImageFile,
    )
)
#: How the accepted formats begin: a file that starts so but cannot be read was cut short.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
#: What Pillow raises on a damaged or cut-short file, while reading or checking it.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)

EMPTY = "PHOTO_EMPTY"
TOO_LARGE = "PHOTO_TOO_LARGE"
NOT_IMAGE = "PHOTO_NOT_IMAGE"
DAMAGED = "PHOTO_DAMAGED"
TOO_MANY_PIXELS = "PHOTO_TOO_MANY_PIXELS"
TOO_MANY = "PHOTO_TOO_MANY"
PHOTO_NOT_FOUND = "PHOTO_NOT_FOUND"

#: What a photo id and a centre id may be: neither can then name another folder or key.
_PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")
_CENTER_ID = re.compile(CENTER_ID_RE)


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo as it is kept: re-encoded JPEG and its thumbnail, never the upload itself."""

    id: str
    content_type: str
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str

    def __repr__(self) -> str:  # the bytes are no use in a log line
        return (
            f"ProcessedPhoto(id={self.id!r}, {self.width}x{self.height}, "
            f"{len(self.image)} B, thumbnail {len(self.thumbnail)} B)"
        )


# --- checking and cleaning -------------------------------------------------------------------


def check_count(count: int) -> None:
    """Refuse more than :data:`MAX_PHOTOS` photos on one report."""
    if count > MAX_PHOTOS:
        raise InvalidInput(
            f"每份诉求最多上传 {MAX_PHOTOS} 张照片", code=TOO_MANY, extra={"max_photos": MAX_PHOTOS}
        )


def process(data: bytes) -> ProcessedPhoto:
    """Check an uploaded photo and make the image and thumbnail that are stored.

    Refuses (:class:`InvalidInput`) an empty upload, one over :data:`MAX_BYTES`, anything
    that is not an accepted image, a damaged or cut-short file, and an image of more than
    :data:`MAX_PIXELS`. CPU-bound: about 0.35 s and 85 MB for a 12 MP phone JPEG; at worst
    (a 50 MP PNG, which can be a 160 kB file) 1.2 s and 250 MB. Under eventlet run it in an
    OS thread (``eventlet.tpool.execute(photos.process, data)``) and bound how many run at
    once; the green thread that calls it inline stalls every other request meanwhile.
    """
    if not data:
        raise InvalidInput("没有收到照片，请重新上传", code=EMPTY)
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"照片不能超过 {MAX_BYTES // (1024 * 1024)} MB",
            code=TOO_LARGE,
            extra={"max_bytes": MAX_BYTES},
        )
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice it; here that is a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = _decode(data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
    icc = _rgb_profile(picture)
    image = _to_rgb(_upright(picture))
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    encoded = _jpeg(image, QUALITY, icc)
    return ProcessedPhoto(
        id=uuid.uuid4().hex,
        content_type=CONTENT_TYPE,
        image=encoded,
        thumbnail=_jpeg(thumb, THUMB_QUALITY, icc),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _decode(data: bytes) -> Image.Image:
    """The first frame, fully decoded; refusals for what is not a whole, sane image."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            _check_pixels(probe.size)
            probe.verify()  # checksums and structure, where the format has them (PNG)
    except UnidentifiedImageError:
        # No decoder took it: cut short if it begins as an image does, else not an image.
        raise (_damaged() if _has_signature(data) else _not_image()) from None
    except _DAMAGED:
        raise _damaged() from None
    # ``verify`` leaves the file unusable: open it again to decode it.
    picture = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    try:
        picture.seek(0)
        if picture.format in ("JPEG", "MPO"):
            # Let the JPEG decoder scale down by 2/4/8 what is far larger than is kept.
            picture.draft(None, (MAX_SIDE, MAX_SIDE))
        picture.load()  # a cut-short JPEG fails here (Pillow's LOAD_TRUNCATED_IMAGES is off)
    except _DAMAGED:
        picture.close()
        raise _damaged() from None
    return picture


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise _damaged()
    if width * height > MAX_PIXELS:
        raise _too_many_pixels()


def _has_signature(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _upright(picture: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (in place: a 12 MP copy is 48 MB)."""
    # A damaged EXIF block (Pillow raises whatever its parser meets) is no reason to refuse
    # the photo itself: it is kept as it was taken, and the metadata is dropped anyway.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(picture, in_place=True)
    return picture


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (a JPEG has none)."""
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if transparent:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I;16"):
        image = image.point(lambda value: value / 256, "L")  # 16-bit PNG: keep the top byte
    elif image.mode in ("I", "F"):
        image = image.convert("L")
    return image if image.mode == "RGB" else image.convert("RGB")


def _rgb_profile(picture: Image.Image) -> bytes | None:
    """The ICC profile when it describes RGB (bytes 16-19 of its header), else none."""
    icc = picture.info.get("icc_profile")
    if isinstance(icc, bytes) and len(icc) >= 128 and icc[16:20] == b"RGB ":
        return icc
    return None


def _jpeg(image: Image.Image, quality: int, icc: bytes | None) -> bytes:
    image.info = {}  # nothing read from the upload rides along into the new file
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": quality, "optimize": True}
    if icc:
        options["icc_profile"] = icc
    image.save(out, "JPEG", **options)
    return out.getvalue()


def _not_image() -> InvalidInput:
    return InvalidInput("不是有效的图片文件，请上传 JPG 或 PNG 照片", code=NOT_IMAGE)


def _damaged() -> InvalidInput:
    return InvalidInput("图片文件不完整，请重新拍摄或上传", code=DAMAGED)


def _too_many_pixels() -> InvalidInput:
    return InvalidInput(
        f"图片尺寸过大（不能超过 {MAX_PIXELS // 10_000} 万像素）",
        code=TOO_MANY_PIXELS,
        extra={"max_pixels": MAX_PIXELS},
    )


# --- storage ---------------------------------------------------------------------------------


class PhotoStore(Protocol):
    """Where photos are kept, per centre, by id: the image and its thumbnail."""

    def put(self, photo: ProcessedPhoto, *, center_id: str) -> None: ...

    def get(self, center_id: str, photo_id: str, *, thumbnail: bool = False) -> bytes: ...

    def delete(self, center_id: str, photo_id: str) -> None: ...

    def exists(self, center_id: str, photo_id: str) -> bool: ...


def _names(center_id: str, photo_id: str) -> tuple[str, str]:
    """``(center, photo)`` checked: neither can name anything outside the centre's photos."""
    if not isinstance(center_id, str) or not _CENTER_ID.fullmatch(center_id):
        raise InvalidInput("服务中心编号无效", code="INVALID_CENTER_ID")
    if not isinstance(photo_id, str) or not _PHOTO_ID.fullmatch(photo_id):
        raise InvalidInput("照片编号无效", code="INVALID_PHOTO_ID")
    return center_id, photo_id


def _missing() -> NotFound:
    return NotFound("照片不存在或已删除", code=PHOTO_NOT_FOUND)


class LocalStore:
    """Photos in a folder: ``<root>/<center_id>/<photo_id>.jpg`` and ``<photo_id>_thumb.jpg``.

    Each file is written to a temporary name in the same folder and renamed into place, so a
    reader never sees half a photo; the thumbnail is written first, so an existing image
    always has its thumbnail.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, center_id: str, photo_id: str, thumbnail: bool = False) -> Path:
        center, photo = _names(center_id, photo_id)
        return self.root / center / (f"{photo}_thumb.jpg" if thumbnail else f"{photo}.jpg")

    def put(self, photo: ProcessedPhoto, *, center_id: str) -> None:
        image = self._path(center_id, photo.id)
        image.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(self._path(center_id, photo.id, thumbnail=True), photo.thumbnail)
        _write_atomically(image, photo.image)

    def get(self, center_id: str, photo_id: str, *, thumbnail: bool = False) -> bytes:
        try:
            return self._path(center_id, photo_id, thumbnail).read_bytes()
        except FileNotFoundError:
            raise _missing() from None

    def delete(self, center_id: str, photo_id: str) -> None:
        """Remove the photo and its thumbnail; deleting what is gone is not an error."""
        self._path(center_id, photo_id).unlink(missing_ok=True)
        self._path(center_id, photo_id, thumbnail=True).unlink(missing_ok=True)

    def exists(self, center_id: str, photo_id: str) -> bool:
        return self._path(center_id, photo_id).is_file()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class S3Store:
    """Photos in S3-compatible object storage, from a URL::

        s3://<bucket>/<optional prefix>?endpoint=http://127.0.0.1:9000&region=us-east-1

    Objects are ``<prefix>/<center_id>/<photo_id>.jpg`` and ``..._thumb.jpg``, with their
    ContentType. Credentials never go in the URL: boto3 finds them as it always does
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, the shared config
    files). With an ``endpoint`` (MinIO, a cloud's S3-compatible service) addressing is
    path-style unless ``addressing=virtual`` says otherwise.
    """

    def __init__(self, url: str, *, client: Any = None):
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"PHOTO_STORAGE: expected s3://<bucket>/<prefix>, got {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "addressing"}
        if unknown:
            raise ValueError(f"PHOTO_STORAGE: unknown option(s) {sorted(unknown)} in {url!r}")
        self.bucket = parts.netloc
        self.prefix = unquote(parts.path).strip("/")
        self.endpoint = query.get("endpoint") or None
        addressing = query.get("addressing") or ("path" if self.endpoint else "auto")
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": addressing},
        )
        self.client = client or boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=query.get("region") or None, config=config
        )

    def __repr__(self) -> str:
        return (
            f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint!r})"
        )

    def key(self, center_id: str, photo_id: str, thumbnail: bool = False) -> str:
        center, photo = _names(center_id, photo_id)
        name = f"{center}/{photo}_thumb.jpg" if thumbnail else f"{center}/{photo}.jpg"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, photo: ProcessedPhoto, *, center_id: str) -> None:
        for thumbnail, body in ((True, photo.thumbnail), (False, photo.image)):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(center_id, photo.id, thumbnail),
                Body=body,
                ContentType=photo.content_type,
                Metadata={"sha256": photo.sha256} if not thumbnail else {},
            )

    def get(self, center_id: str, photo_id: str, *, thumbnail: bool = False) -> bytes:
        from botocore.exceptions import ClientError

        key = self.key(center_id, photo_id, thumbnail)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise _missing() from None
            raise
        body = answer["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def delete(self, center_id: str, photo_id: str) -> None:
        """Remove the photo and its thumbnail; deleting what is gone is not an error."""
        for thumbnail in (False, True):
            self.client.delete_object(
                Bucket=self.bucket, Key=self.key(center_id, photo_id, thumbnail)
            )

    def exists(self, center_id: str, photo_id: str) -> bool:
        """Whether the image is there (a HEAD answers 404 for a missing bucket too)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(center_id, photo_id))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True


def _is_missing(exc: Any) -> bool:
    """A botocore ``ClientError`` saying the object is not there (GET says NoSuchKey, HEAD 404)."""
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def store_from_url(url: str, var_dir: Path) -> PhotoStore:
    """The store a ``PHOTO_STORAGE`` URL names.

    ``""`` → ``<var_dir>/photos``; ``file:///srv/photos`` → that folder (``file:photos``, a
    relative path, is under ``var_dir``); ``s3://bucket/prefix?endpoint=...&region=...`` →
    :class:`S3Store`.
    """
    url = (url or "").strip()
    if not url:
        return LocalStore(Path(var_dir) / "photos")
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.netloc + parts.path))
        return LocalStore(path if path.is_absolute() else Path(var_dir) / path)
    if parts.scheme == "s3":
        return S3Store(url)
    raise ValueError(f"PHOTO_STORAGE: unsupported storage {url!r} (use file:// or s3://)")
