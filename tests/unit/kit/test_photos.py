"""Report photos (issue 14): what people upload is checked, cleaned of metadata and stored.

Every test image is made here with Pillow; no binary fixture is committed.
"""

import io
import os
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms

from lianxin import photos
from lianxin.errors import InvalidInput, NotFound

CENTER = "yanminghu"
RED, BLUE = (220, 20, 20), (20, 20, 220)


# --- making test images ----------------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def halves(size=(400, 200), left=RED, right=BLUE) -> Image.Image:
    """Left half one colour, right half another: shows which way an image was turned."""
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def photo_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, time taken, and where (GPS)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei"
    exif[ExifTags.Base.Model] = "P60"
    exif[ExifTags.Base.DateTime] = "2026:11:27 09:30:00"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (30.0, 15.0, 36.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (120.0, 9.0, 0.0),
    }
    return exif


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` × ``height`` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def app_segments(jpeg: bytes) -> list[int]:
    """The APPn markers (0xE0-0xEF) of a JPEG, in order (read up to the start of scan)."""
    found, at = [], 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker = jpeg[at + 1]
        if marker == 0xDA:  # start of scan: no more headers
            break
        length = struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
        if 0xE0 <= marker <= 0xEF:
            found.append(marker)
        at += 2 + length
    return found


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


@pytest.fixture
def store(tmp_path):
    return photos.LocalStore(tmp_path / "photos")


def stored_files(store) -> list[str]:
    return (
        sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
        if store.root.exists()
        else []
    )


# --- what comes out --------------------------------------------------------------------------


def test_a_phone_photo_loses_its_exif_and_gps_position():
    upload = encode(halves(), exif=photo_exif().tobytes())
    assert opened(upload).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo has a GPS fix

    photo = photos.process(upload)
    out = opened(photo.image)
    assert out.format == "JPEG" and photo.content_type == "image/jpeg"
    assert dict(out.getexif()) == {}
    assert out.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "exif" not in out.info and "xmp" not in out.info
    assert 0xE1 not in app_segments(photo.image)  # no APP1 block (EXIF or XMP) at all
    thumb = opened(photo.thumbnail)
    assert dict(thumb.getexif()) == {} and 0xE1 not in app_segments(photo.thumbnail)


def test_a_jpeg_comment_does_not_ride_along():
    # Pillow copies a JPEG's comment into what it saves unless told otherwise.
    upload = encode(halves(), comment=b"taken at home, Zhang San, 13800000000")
    photo = photos.process(upload)
    assert b"Zhang" not in photo.image and b"Zhang" not in photo.thumbnail
    assert "comment" not in opened(photo.image).info


def test_a_multi_picture_jpeg_keeps_its_first_picture():
    upload = encode(
        Image.new("RGB", (200, 100), RED),
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (200, 100), BLUE)],
    )
    assert Image.open(io.BytesIO(upload)).format == "MPO"
    out = opened(photos.process(upload).image)
    assert out.format == "JPEG" and near(out.getpixel((100, 50)), RED)
    assert getattr(out, "n_frames", 1) == 1


def test_orientation_is_applied_before_the_exif_is_dropped():
    # Orientation 6: the camera was turned; shown upright, the left (red) half is on top.
    photo = photos.process(encode(halves((400, 200)), exif=photo_exif(orientation=6).tobytes()))
    out = opened(photo.image)
    assert (photo.width, photo.height) == out.size == (200, 400)
    assert near(out.getpixel((100, 50)), RED) and near(out.getpixel((100, 350)), BLUE)


def test_png_with_transparency_is_laid_on_white():
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((*RED, 255), (100, 100, 200, 200))
    out = opened(photos.process(encode(image, "PNG")).image)
    assert out.mode == "RGB"
    assert near(out.getpixel((10, 10)), (255, 255, 255), 5)
    assert near(out.getpixel((150, 150)), RED)


def test_webp_gif_first_frame_and_16_bit_png_are_accepted():
    webp = opened(photos.process(encode(halves(), "WEBP", quality=90)).image)
    assert near(webp.getpixel((50, 100)), RED)

    frames = [Image.new("RGB", (120, 80), RED), Image.new("RGB", (120, 80), BLUE)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert near(opened(photos.process(gif).image).getpixel((60, 40)), RED)

    grey = Image.new("I;16", (64, 64), 40000)  # 16 bits: 40000 / 65535 is light grey
    value = opened(photos.process(encode(grey, "PNG")).image).getpixel((32, 32))
    assert near(value, (156, 156, 156), 10)


def test_a_cmyk_jpeg_comes_out_rgb():
    out = opened(photos.process(encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)))).image)
    assert out.mode == "RGB" and near(out.getpixel((32, 32)), (255, 0, 0), 30)


def test_an_rgb_colour_profile_is_kept_and_nothing_else():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = photos.process(encode(halves(), icc_profile=srgb, exif=photo_exif().tobytes()))
    out = opened(photo.image)
    assert out.info.get("icc_profile") == srgb
    assert app_segments(photo.image) == [0xE0, 0xE2]  # JFIF and the ICC profile only


def test_large_photos_are_capped_and_the_thumbnail_is_small():
    photo = photos.process(encode(halves((3000, 2000)), quality=95))
    assert (photo.width, photo.height) == (photos.MAX_SIDE, 1365)
    thumb = opened(photo.thumbnail)
    assert thumb.size == (photos.THUMB_SIDE, 213) and thumb.format == "JPEG"
    assert len(photo.thumbnail) < len(photo.image)


def test_each_photo_gets_a_new_id_and_the_hash_of_what_is_stored():
    import hashlib

    upload = encode(halves())
    first, second = photos.process(upload), photos.process(upload)
    assert first.id != second.id and len(first.id) == 32 and int(first.id, 16) >= 0
    assert first.sha256 == hashlib.sha256(first.image).hexdigest()
    assert "bytes" not in repr(first) and first.id in repr(first)


def test_exactly_5_mb_is_still_accepted():
    upload = encode(halves())
    upload += b"\x00" * (photos.MAX_BYTES - len(upload))  # after the JPEG's end: ignored
    assert len(upload) == photos.MAX_BYTES
    assert photos.process(upload).width == 400


# --- what is refused, and then nothing is stored ---------------------------------------------


def _truncated_jpeg() -> bytes:
    noisy = Image.effect_noise((600, 400), 60).convert("RGB")
    data = encode(noisy, quality=90)
    return data[: len(data) // 2]


def _truncated_png() -> bytes:
    data = encode(Image.effect_noise((300, 300), 60), "PNG")
    return data[: len(data) * 2 // 3]


REFUSALS = {
    "empty": (lambda: b"", photos.EMPTY, "没有收到照片"),
    "text file": (
        lambda: "这不是照片\n".encode() * 50,
        photos.NOT_IMAGE,
        "不是有效的图片文件，请上传 JPG 或 PNG 照片",
    ),
    "pdf": (lambda: b"%PDF-1.7\n" + b"0" * 500, photos.NOT_IMAGE, "不是有效的图片文件"),
    "bmp (an image, not one we take)": (
        lambda: encode(halves(), "BMP"),
        photos.NOT_IMAGE,
        "不是有效的图片文件",
    ),
    "truncated jpeg": (_truncated_jpeg, photos.DAMAGED, "图片文件不完整，请重新拍摄或上传"),
    "truncated png": (_truncated_png, photos.DAMAGED, "图片文件不完整"),
    "only a jpeg's first bytes": (lambda: encode(halves())[:40], photos.DAMAGED, "图片文件不完整"),
    "5 MB + 1 byte": (
        lambda: b"\xff\xd8\xff" + b"\x00" * (photos.MAX_BYTES - 2),
        photos.TOO_LARGE,
        "照片不能超过 5 MB",
    ),
    "bomb past Pillow's hard limit": (
        lambda: png_declaring(100_000, 100_000),
        photos.TOO_MANY_PIXELS,
        "图片尺寸过大",
    ),
    "bomb in Pillow's warning band": (
        lambda: png_declaring(10_000, 10_000),
        photos.TOO_MANY_PIXELS,
        "图片尺寸过大",
    ),
    "just over our limit": (
        lambda: png_declaring(10_000, photos.MAX_PIXELS // 10_000 + 1),
        photos.TOO_MANY_PIXELS,
        "图片尺寸过大",
    ),
    "zero-width header": (lambda: png_declaring(0, 100), photos.DAMAGED, "图片文件不完整"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_uploads_are_refused_in_chinese_and_nothing_is_stored(case, store, recwarn):
    make, code, message = REFUSALS[case]
    with pytest.raises(InvalidInput) as refused:
        store.put(photos.process(make()), center_id=CENTER)
    assert refused.value.code == code
    assert refused.value.detail.startswith(message)
    assert refused.value.kind == "invalid"
    assert stored_files(store) == []
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_a_real_compressed_bomb_is_refused_before_it_is_decoded():
    # 64 MP of one colour packs into a few kB; decoding it would take 64 MB or more.
    bomb = encode(Image.new("1", (8000, 8000)), "PNG", optimize=True)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput) as refused:
        photos.process(bomb)
    assert refused.value.code == photos.TOO_MANY_PIXELS


def test_pillows_own_limit_is_left_as_it_was():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(InvalidInput):
        photos.process(png_declaring(10_000, 10_000))
    assert Image.MAX_IMAGE_PIXELS == before


def test_more_than_three_photos_on_a_report_are_refused():
    photos.check_count(photos.MAX_PHOTOS)
    with pytest.raises(InvalidInput) as refused:
        photos.check_count(photos.MAX_PHOTOS + 1)
    assert refused.value.code == photos.TOO_MANY and "最多上传 3 张照片" in refused.value.detail


# --- the local folder ------------------------------------------------------------------------


def test_local_store_round_trips_image_and_thumbnail(store):
    photo = photos.process(encode(halves()))
    assert not store.exists(CENTER, photo.id)
    store.put(photo, center_id=CENTER)
    assert store.exists(CENTER, photo.id)
    assert store.get(CENTER, photo.id) == photo.image
    assert store.get(CENTER, photo.id, thumbnail=True) == photo.thumbnail
    assert stored_files(store) == [f"{CENTER}/{photo.id}.jpg", f"{CENTER}/{photo.id}_thumb.jpg"]

    store.delete(CENTER, photo.id)
    store.delete(CENTER, photo.id)  # already gone: not an error
    assert not store.exists(CENTER, photo.id) and stored_files(store) == []


def test_a_missing_photo_is_not_found_in_chinese(store):
    with pytest.raises(NotFound) as missing:
        store.get(CENTER, "0" * 32)
    assert missing.value.code == photos.PHOTO_NOT_FOUND and "照片不存在" in missing.value.detail
    with pytest.raises(NotFound):
        store.get(CENTER, "0" * 32, thumbnail=True)


def test_photos_of_one_center_are_not_found_under_another(store):
    photo = photos.process(encode(halves()))
    store.put(photo, center_id=CENTER)
    assert not store.exists("other-center", photo.id)
    with pytest.raises(NotFound):
        store.get("other-center", photo.id)


@pytest.mark.parametrize(
    "center_id, photo_id",
    [
        (CENTER, "../../etc/passwd"),
        (CENTER, ".."),
        (CENTER, "a" * 31 + "/"),
        (CENTER, "A" * 32),
        (CENTER, "0" * 32 + "\n"),
        (CENTER, "/tmp/" + "0" * 32),
        ("..", "0" * 32),
        ("../outside", "0" * 32),
        ("yanminghu/..", "0" * 32),
        ("", "0" * 32),
    ],
)
def test_crafted_ids_cannot_reach_outside_the_folder(store, tmp_path, center_id, photo_id):
    for call in (
        lambda: store.get(center_id, photo_id),
        lambda: store.exists(center_id, photo_id),
        lambda: store.delete(center_id, photo_id),
    ):
        with pytest.raises(InvalidInput):
            call()
    photo = photos.process(encode(halves()))
    crafted = photos.ProcessedPhoto(**{**photo.__dict__, "id": photo_id})
    with pytest.raises(InvalidInput):
        store.put(crafted, center_id=center_id)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_failed_write_leaves_no_half_file(store, monkeypatch):
    photo = photos.process(encode(halves()))

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        store.put(photo, center_id=CENTER)
    assert stored_files(store) == [] and not store.exists(CENTER, photo.id)


def test_writes_leave_no_temporary_files(store):
    for _ in range(3):
        store.put(photos.process(encode(halves())), center_id=CENTER)
    names = stored_files(store)
    assert len(names) == 6 and all(name.endswith(".jpg") for name in names)


# --- choosing the store ----------------------------------------------------------------------


def test_no_url_means_the_photos_folder_under_var(tmp_path):
    store = photos.store_from_url("", tmp_path / "var")
    assert isinstance(store, photos.LocalStore) and store.root == tmp_path / "var" / "photos"


def test_file_urls_name_a_folder(tmp_path):
    absolute = photos.store_from_url(f"file://{tmp_path}/elsewhere", tmp_path / "var")
    assert isinstance(absolute, photos.LocalStore) and absolute.root == tmp_path / "elsewhere"
    relative = photos.store_from_url("file:pictures", tmp_path / "var")
    assert (
        isinstance(relative, photos.LocalStore) and relative.root == tmp_path / "var" / "pictures"
    )


def test_s3_urls_name_bucket_prefix_endpoint_and_region(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    url = "s3://lianxin-photos/prod/reports?endpoint=http://127.0.0.1:9000&region=cn-north-1"
    store = photos.store_from_url(url, tmp_path)
    assert isinstance(store, photos.S3Store)
    assert (store.bucket, store.prefix, store.endpoint) == (
        "lianxin-photos",
        "prod/reports",
        "http://127.0.0.1:9000",
    )
    assert store.client.meta.region_name == "cn-north-1"
    assert store.key(CENTER, "0" * 32) == f"prod/reports/{CENTER}/{'0' * 32}.jpg"
    assert store.key(CENTER, "0" * 32, thumbnail=True).endswith("_thumb.jpg")
    bare = photos.S3Store("s3://bucket?region=us-east-1")
    assert bare.prefix == "" and bare.key(CENTER, "0" * 32) == f"{CENTER}/{'0' * 32}.jpg"
    with pytest.raises(InvalidInput):
        store.key(CENTER, "../" + "0" * 29)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/photos",
        "s3:///no-bucket",
        "s3://bucket?endpoint=http://x&secret=oops",
    ],
)
def test_storage_urls_that_make_no_sense_are_refused_at_start(tmp_path, url):
    with pytest.raises(ValueError, match="PHOTO_STORAGE"):
        photos.store_from_url(url, tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_damage_anywhere_gives_a_refusal_or_a_clean_photo_never_a_crash(fmt):
    import random

    rng = random.Random(fmt)
    data = encode(Image.effect_noise((96, 64), 40).convert("RGB"), fmt)
    for _ in range(150):
        damaged = bytearray(data)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(1, len(damaged))]
        for _ in range(rng.randrange(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            photo = photos.process(bytes(damaged))
        except InvalidInput as refused:
            assert refused.code in (photos.DAMAGED, photos.NOT_IMAGE, photos.TOO_MANY_PIXELS)
        else:
            assert opened(photo.image).format == "JPEG"
