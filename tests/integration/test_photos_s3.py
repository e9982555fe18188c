"""Photos in S3-compatible object storage, through a real S3 API server on 127.0.0.1.

The server is moto's (an S3 HTTP API in this process, in memory); the store is configured
exactly as a deployment configures it, by its ``PHOTO_STORAGE`` URL. Nothing leaves the
machine: the endpoint is loopback, the credentials are dummies, instance metadata is off.
"""

import io

import pytest
from PIL import Image

from lianxin import photos
from lianxin.errors import NotFound

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
BUCKET = "lianxin-photos"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Dummy credentials from the standard variables, and no way to the internet."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def store(s3_endpoint, aws_env, tmp_path):
    import uuid

    import boto3

    prefix = f"reports-{uuid.uuid4().hex[:8]}"  # each test in its own corner of the bucket
    admin = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in admin.list_buckets()["Buckets"]}:
        admin.create_bucket(Bucket=BUCKET)
    url = f"s3://{BUCKET}/{prefix}?endpoint={s3_endpoint}&region=us-east-1"
    chosen = photos.store_from_url(url, tmp_path / "var")
    assert isinstance(chosen, photos.S3Store)
    return chosen, admin, prefix


def a_photo() -> photos.ProcessedPhoto:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "JPEG")
    return photos.process(out.getvalue())


def test_put_get_exists_delete_round_trip(store):
    s3, admin, prefix = store
    photo = a_photo()
    assert not s3.exists(CENTER, photo.id)

    s3.put(photo, center_id=CENTER)
    assert s3.exists(CENTER, photo.id)
    assert s3.get(CENTER, photo.id) == photo.image
    assert s3.get(CENTER, photo.id, thumbnail=True) == photo.thumbnail

    listed = admin.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        f"{prefix}/{CENTER}/{photo.id}.jpg",
        f"{prefix}/{CENTER}/{photo.id}_thumb.jpg",
    ]
    head = admin.head_object(Bucket=BUCKET, Key=f"{prefix}/{CENTER}/{photo.id}.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"sha256": photo.sha256}

    s3.delete(CENTER, photo.id)
    s3.delete(CENTER, photo.id)  # already gone: not an error
    assert not s3.exists(CENTER, photo.id)
    assert admin.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")["KeyCount"] == 0


def test_a_missing_photo_is_not_found_in_chinese(store):
    s3, _, _ = store
    with pytest.raises(NotFound) as missing:
        s3.get(CENTER, "0" * 32)
    assert missing.value.code == photos.PHOTO_NOT_FOUND and "照片不存在" in missing.value.detail
    with pytest.raises(NotFound):
        s3.get(CENTER, "0" * 32, thumbnail=True)


def test_photos_of_one_center_are_not_found_under_another(store):
    s3, _, _ = store
    photo = a_photo()
    s3.put(photo, center_id=CENTER)
    assert not s3.exists("other-center", photo.id)
    with pytest.raises(NotFound):
        s3.get("other-center", photo.id)


def test_a_bucket_that_does_not_exist_is_an_error_not_a_missing_photo(
    s3_endpoint, aws_env, tmp_path
):
    from botocore.exceptions import ClientError

    s3 = photos.store_from_url(
        f"s3://no-such-bucket?endpoint={s3_endpoint}&region=us-east-1", tmp_path
    )
    with pytest.raises(ClientError):
        s3.put(a_photo(), center_id=CENTER)
    with pytest.raises(ClientError):
        s3.get(CENTER, "0" * 32)
