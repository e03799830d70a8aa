"""Pictures of posts: uploaded through the guarded reader, re-encoded, shown, or a placeholder."""

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from bases.models import Post
from tests.factories import BaseFactory, PostFactory, SessionFactory, category

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def base():
    return BaseFactory(name="徐汇区图书馆")


@pytest.fixture
def owned(base):
    return base


def jpeg_with_gps(width=2400, height=1600) -> bytes:
    """A camera-like JPEG: EXIF with the camera's make and a GPS position."""
    picture = Image.new("RGB", (width, height), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


POST_DATA = {
    "title": "图书管理员",
    "description": "整理图书",
    "requirements": "",
    "place": "一楼",
    "eligible_grades": ["1", "2", "3"],
}


def _create(client, base, upload):
    data = POST_DATA | {"category": category().pk, "image": upload}
    return client.post(reverse("bases:post-create", args=[base.pk]), data)


def test_the_test_picture_really_carries_gps():
    with Image.open(io.BytesIO(jpeg_with_gps())) as sent:
        assert sent.getexif().get_ifd(GPS_IFD)[1] == "N"


def test_an_uploaded_photo_is_stored_re_encoded_without_exif_and_scaled_down(client, owner, base):
    client.force_login(owner)
    response = _create(client, base, SimpleUploadedFile("IMG_0001.jpg", jpeg_with_gps()))
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.image.name.startswith("images/posts/")
    assert "IMG_0001" not in post.image.name
    with post.image.open("rb") as stored, Image.open(stored) as kept:
        assert kept.format == "JPEG"
        assert kept.size == (settings.IMAGE_MAX_WIDTH, 800)
        assert dict(kept.getexif()) == {}
        assert "exif" not in kept.info
    # And the public page serves it.
    served = client.get(post.image.url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content)[:3] == b"\xff\xd8\xff"


def test_a_non_image_is_refused_with_a_clear_message_and_nothing_is_saved(client, owner, base):
    client.force_login(owner)
    response = _create(client, base, SimpleUploadedFile("photo.jpg", b"%PDF-1.7 not a picture"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "This file is a PDF document, not a JPEG or PNG picture." in page
    assert page.count("not a JPEG or PNG picture") == 1
    assert not Post.objects.exists()


def test_a_pixel_bomb_is_refused_before_it_is_decoded(client, owner, base):
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # a few kB, 100 million pixels
    client.force_login(owner)
    response = _create(client, base, SimpleUploadedFile("big.png", out.getvalue()))
    assert "10000 × 10000 pixels, too large to open safely" in response.content.decode()
    assert not Post.objects.exists()


def test_a_png_with_transparency_stays_png(client, owner, base):
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (255, 0, 0, 128)).save(out, "PNG")
    client.force_login(owner)
    _create(client, base, SimpleUploadedFile("logo.png", out.getvalue()))
    with Post.objects.get().image.open("rb") as stored, Image.open(stored) as kept:
        assert (kept.format, kept.mode, kept.size) == ("PNG", "RGBA", (300, 200))


def test_editing_without_a_file_keeps_the_picture_and_remove_drops_it(client, owner, base):
    client.force_login(owner)
    _create(client, base, SimpleUploadedFile("a.jpg", jpeg_with_gps(400, 300)))
    post = Post.objects.get()
    name = post.image.name
    edit = reverse("bases:post-edit", args=[post.pk])
    client.post(edit, POST_DATA | {"category": category().pk})
    post.refresh_from_db()
    assert post.image.name == name
    client.post(edit, POST_DATA | {"category": category().pk, "remove_image": "on"})
    post.refresh_from_db()
    assert not post.image


def test_listing_and_post_page_show_the_category_drawing_when_there_is_no_picture(client):
    session = SessionFactory(post__category=category("rural_practice"), post__title="农耕体验")
    listing = client.get(reverse("bases:district-posts", args=["310104"])).content.decode()
    detail = client.get(reverse("bases:post-detail", args=[session.post_id])).content.decode()
    for page in (listing, detail):
        assert "/static/portal/placeholders/rural_practice.svg" in page
        assert 'alt="Drawing for the category Rural practice (学农)"' in page


def test_a_post_without_a_picture_shows_its_bases_picture(client):
    from portal.uploads import read_image

    base = BaseFactory(name="上海图书馆")
    base.image.save("x.jpg", read_image(jpeg_with_gps(400, 300)).as_file())
    session = SessionFactory(post=PostFactory(base=base))
    detail = client.get(reverse("bases:post-detail", args=[session.post_id])).content.decode()
    assert base.image.url in detail
    assert 'alt="Picture of 上海图书馆"' in detail
    assert "placeholders/" not in detail


def test_a_picture_over_the_size_limit_is_refused_with_its_size(client, owner, base):
    content = b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024)
    with override_settings(IMAGE_UPLOAD_MAX_BYTES=2 * 1024 * 1024):
        client.force_login(owner)
        response = _create(client, base, SimpleUploadedFile("big.jpg", content))
    assert "The picture is 3.0 MB; at most 2 MB are accepted." in response.content.decode()
    assert not Post.objects.exists()
