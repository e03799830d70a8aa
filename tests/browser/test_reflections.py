"""Reflections in a real browser on a phone: the student writes one and adds a camera photo
(which comes back without its GPS position), the head teacher marks it a typical case, and the
student downloads the 纪实报告 with it."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from students.models import RecordStatus, Reflection, ReflectionPhoto
from tests.browser.conftest import login
from tests.factories import PASSWORD, HeadTeacherFactory, SchoolClassFactory, StudentFactory
from tests.students.progress_helpers import add_record

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
GPS_IFD = 0x8825
TEXT = "在图书馆整理图书，我学会了按索书号排架，也体会到耐心的重要。"


def camera_jpeg(path):
    picture = Image.new("RGB", (2000, 1500), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)})
    picture.save(path, "JPEG", exif=exif.tobytes())
    return path


def test_a_student_writes_a_reflection_with_a_photo_on_a_phone(
    page, live_server, tmp_path, screenshot
):
    school_class = SchoolClassFactory(school__name="徐汇中学")
    student = StudentFactory(user__username="student", name="李明", school_class=school_class)
    record = add_record(
        student, day=timezone.localdate() - timedelta(days=1), status=RecordStatus.IN_NOTICE
    )
    HeadTeacherFactory(user__username="teacher", school_class=school_class)
    page.set_viewport_size(PHONE)
    login(page, live_server, "student", PASSWORD)
    page.goto(f"{live_server.url}/records/")
    page.get_by_role("link", name=record.title).click()
    page.fill("#id_text", TEXT)
    page.get_by_role("button", name="保存感悟").click()
    expect(page.get_by_test_id("reflection-text")).to_have_text(TEXT)
    page.set_input_files("#id_photo", str(camera_jpeg(tmp_path / "IMG_0001.jpg")))
    page.get_by_role("button", name="添加照片").click()
    photo = page.get_by_test_id("reflection-photos").locator("img")
    expect(photo).to_have_count(1)
    photo.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    served = page.request.get(live_server.url + photo.get_attribute("src"))
    assert served.status == 200
    picture = Image.open(io.BytesIO(served.body()))
    assert dict(picture.getexif()) == {} and picture.width == 1200
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot("reflection-student-phone")

    page.context.clear_cookies()
    login(page, live_server, "teacher", PASSWORD)
    page.goto(f"{live_server.url}/records/{record.pk}/")
    page.get_by_role("button", name="标为典型事例").click()
    expect(page.get_by_test_id("typical-badge")).to_be_visible()
    assert Reflection.objects.get().is_typical

    page.context.clear_cookies()
    login(page, live_server, "student", PASSWORD)
    page.goto(f"{live_server.url}/records/")
    with page.expect_download() as info:
        page.get_by_test_id("practice-report").click()
    with open(info.value.path(), "rb") as file:
        reader = PdfReader(io.BytesIO(file.read()))
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "")
    assert "纪实报告" in text and "典型事例" in text
    assert ReflectionPhoto.objects.count() == 1
