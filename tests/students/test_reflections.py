"""Reflections (感悟) on records: the student writes one with up to three photos (re-encoded,
EXIF and GPS gone), the head teacher and the organiser comment, the head teacher marks a typical
case (典型事例); the class sees it in notice, masked; it can be disputed; outsiders get 404."""

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from portal.models import AuditLog, Notification
from students.disputes import dispute_revoke, dispute_uphold
from students.models import (
    Dispute,
    DisputeAbout,
    RecordStatus,
    Reflection,
    ReflectionPhoto,
    ReflectionStatus,
    mask_name,
)
from students.reflections import ReflectionError, reflection_save
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    StudentFactory,
)
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db
GPS_IFD = 0x8825


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def world():
    """李小明 of class 3 with a record of a base in notice, his head teacher, the base's
    coordinator, a classmate, a student and a head teacher of another class."""
    base = BaseFactory(name="徐汇区图书馆")
    school_class = SchoolClassFactory(school__name="徐汇中学", number=3)
    student = StudentFactory(name="李小明", school_class=school_class)
    record = add_record(
        student, day=timezone.localdate() - timedelta(days=1), status=RecordStatus.IN_NOTICE
    )
    record.organiser_ref = f"base:{base.pk}"
    record.save()
    other_class = SchoolClassFactory(school=school_class.school, number=4)
    return type(
        "World",
        (),
        {
            "base": base,
            "school": school_class.school,
            "student": student,
            "record": record,
            "head_teacher": HeadTeacherFactory(school_class=school_class).user,
            "coordinator": CoordinatorFactory(base=base).user,
            "classmate": StudentFactory(name="王同学", school_class=school_class).user,
            "school_admin": SchoolAdminFactory(school=school_class.school).user,
            "other_student": StudentFactory(school_class=other_class).user,
            "other_teacher": HeadTeacherFactory(school_class=other_class).user,
            "other_coordinator": CoordinatorFactory().user,
        },
    )


def jpeg_with_gps(width=1600, height=1200) -> bytes:
    picture = Image.new("RGB", (width, height), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bytes(width=40, height=30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "GIF")
    return out.getvalue()


def write(client, record, text="我在图书馆整理了三百本书，学会了分类。"):
    return client.post(reverse("students:reflection-save", args=[record.pk]), {"text": text})


def upload(client, record, content, name="photo.jpg", content_type="image/jpeg"):
    return client.post(
        reverse("students:reflection-photo-add", args=[record.pk]),
        {"photo": SimpleUploadedFile(name, content, content_type=content_type)},
    )


def stored_files() -> set:
    """The reflection photos on disk (the test settings' own media folder)."""
    root = settings.MEDIA_ROOT / "reflections"
    return set(root.iterdir()) if root.exists() else set()


# ------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------
def test_the_student_writes_a_reflection_that_goes_into_notice(client, world):
    client.force_login(world.student.user)
    response = write(client, world.record)
    assert response.status_code == 302
    reflection = Reflection.objects.get(record=world.record)
    assert reflection.text == "我在图书馆整理了三百本书，学会了分类。"
    assert reflection.status == ReflectionStatus.SHOWN
    assert reflection.notice_ends_on == timezone.localdate() + timedelta(days=7)
    assert AuditLog.objects.filter(action="reflection.create", actor=world.student.user).exists()
    page = client.get(reverse("students:record-detail", args=[world.record.pk]))
    assert "我在图书馆整理了三百本书" in page.content.decode()


def test_800_chinese_characters_are_accepted_and_801_refused_with_the_count(client, world):
    client.force_login(world.student.user)
    assert write(client, world.record, "书" * 800).status_code == 302
    assert len(Reflection.objects.get().text) == 800
    response = write(client, world.record, "书" * 801)
    assert response.status_code == 400
    assert (
        "The reflection has 801 characters; at most 800 are allowed." in response.content.decode()
    )
    assert len(Reflection.objects.get().text) == 800


def test_a_line_break_from_the_browser_counts_as_one_character(client, world):
    client.force_login(world.student.user)
    text = "书" * 399 + "\r\n" + "书" * 400  # browsers send CR LF; 800 characters once read
    assert write(client, world.record, text).status_code == 302
    assert Reflection.objects.get().text == "书" * 399 + "\n" + "书" * 400


def test_the_bases_coordinator_sees_the_reflection_beside_its_record_in_notice(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获的一天")
    notice = reverse("students:school-notice", args=[world.school.pk])
    client.force_login(world.coordinator)
    page = client.get(notice).content.decode()
    assert "很有收获的一天" in page and "李小明" not in page
    assert "Object to this reflection" not in page  # organisers answer, they do not object


def test_an_empty_reflection_is_refused(client, world):
    client.force_login(world.student.user)
    assert write(client, world.record, "   ").status_code == 400
    assert not Reflection.objects.exists()


def test_another_student_or_class_gets_404_on_a_record_and_its_reflection(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    for outsider in (world.classmate, world.other_student):
        client.force_login(outsider)
        assert write(client, world.record, "冒名").status_code == 404
        assert (
            client.get(reverse("students:record-detail", args=[world.record.pk])).status_code == 404
        )
    client.force_login(world.other_teacher)
    assert client.get(reverse("students:record-detail", args=[world.record.pk])).status_code == 404
    assert Reflection.objects.get().text != "冒名"


# ------------------------------------------------------------------------------
# Photos
# ------------------------------------------------------------------------------
def test_an_uploaded_jpeg_comes_back_without_exif_or_gps(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    assert upload(client, world.record, original).status_code == 302
    photo = ReflectionPhoto.objects.get()
    served = client.get(reverse("students:reflection-photo", args=[photo.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    content = b"".join(served.streaming_content)
    picture = Image.open(io.BytesIO(content))
    assert picture.format == "JPEG"
    assert dict(picture.getexif()) == {}
    assert b"Exif" not in content and b"PhoneMaker" not in content
    assert picture.width == settings.IMAGE_MAX_WIDTH
    assert photo.image.name.startswith("reflections/") and "photo" not in photo.image.name


@pytest.mark.parametrize(
    "content, name, message",
    [
        (png_bytes(), "drawing.png", None),
        (
            png_bytes(),
            "renamed.jpg",
            "The file is named renamed.jpg but holds a PNG picture; save it again as JPEG or PNG",
        ),
        (gif_bytes(), "moving.gif", "This file is a GIF image, not a JPEG or PNG picture."),
        (b"not a picture at all", "x.jpg", "This file is not a JPEG or PNG picture"),
    ],
)
def test_only_jpeg_and_png_by_content_are_kept(client, world, content, name, message):
    client.force_login(world.student.user)
    write(client, world.record)
    before = stored_files()
    response = upload(client, world.record, content, name=name)
    if message is None:
        # A PNG is read by its content and stays a PNG, re-encoded.
        assert response.status_code == 302
        photo = ReflectionPhoto.objects.get()
        assert photo.image.name.endswith(".png")
        assert Image.open(photo.image.path).format == "PNG"
    else:
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not ReflectionPhoto.objects.exists() and stored_files() == before


def test_an_oversized_file_is_refused_with_its_size_and_nothing_is_stored(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    before = stored_files()
    with override_settings(IMAGE_UPLOAD_MAX_BYTES=50_000):
        response = upload(client, world.record, jpeg_with_gps() + b"\0" * 60_000)
    assert response.status_code == 400
    assert "MB are accepted" in response.content.decode()
    assert not ReflectionPhoto.objects.exists() and stored_files() == before


def test_a_decompression_bomb_is_refused_before_decoding(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # tiny file, 144 million pixels
    before = stored_files()
    response = upload(client, world.record, out.getvalue(), name="bomb.png")
    assert response.status_code == 400
    assert "12000 × 12000 pixels, too large to open safely" in response.content.decode()
    assert not ReflectionPhoto.objects.exists() and stored_files() == before


def test_a_fourth_photo_is_refused_and_removing_one_makes_room(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    before = stored_files()
    for _ in range(3):
        assert upload(client, world.record, png_bytes(), name="p.png").status_code == 302
    response = upload(client, world.record, png_bytes(), name="p.png")
    assert response.status_code == 400
    assert "A reflection takes at most 3 photos" in response.content.decode()
    assert ReflectionPhoto.objects.count() == 3 and len(stored_files() - before) == 3
    first = ReflectionPhoto.objects.order_by("position").first()
    client.post(reverse("students:reflection-photo-remove", args=[first.pk]))
    assert upload(client, world.record, png_bytes(), name="p.png").status_code == 302
    assert sorted(ReflectionPhoto.objects.values_list("position", flat=True)) == [1, 2, 3]


def test_another_student_cannot_remove_a_photo(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    upload(client, world.record, png_bytes(), name="p.png")
    photo = ReflectionPhoto.objects.get()
    for user in (world.classmate, world.other_student):
        client.force_login(user)
        url = reverse("students:reflection-photo-remove", args=[photo.pk])
        assert client.post(url).status_code == 404
    assert ReflectionPhoto.objects.filter(pk=photo.pk).exists()


def test_photos_need_the_reflection_first(client, world):
    client.force_login(world.student.user)
    before = stored_files()
    response = upload(client, world.record, png_bytes(), name="p.png")
    assert response.status_code == 400
    assert not ReflectionPhoto.objects.exists() and stored_files() == before


def test_a_photo_is_404_to_another_class_and_another_base(client, world):
    client.force_login(world.student.user)
    write(client, world.record)
    upload(client, world.record, png_bytes(), name="p.png")
    url = reverse("students:reflection-photo", args=[ReflectionPhoto.objects.get().pk])
    for user, status in (
        (world.head_teacher, 200),
        (world.coordinator, 200),
        (world.classmate, 200),  # shown to the class during the notice
        (world.other_student, 404),
        (world.other_teacher, 404),
        (world.other_coordinator, 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == status, user


# ------------------------------------------------------------------------------
# Comments and typical cases
# ------------------------------------------------------------------------------
def test_the_head_teacher_and_the_bases_coordinator_comment_and_the_student_is_told(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获")
    url = reverse("students:reflection-comment", args=[world.record.pk])
    for user, text in ((world.head_teacher, "写得真好"), (world.coordinator, "欢迎再来")):
        client.force_login(user)
        assert client.post(url, {"text": text}).status_code == 302
    notes = Notification.objects.filter(user=world.student.user, code="reflection.commented")
    assert notes.count() == 2
    assert AuditLog.objects.filter(action="reflection.comment").count() == 2
    client.force_login(world.student.user)
    page = client.get(reverse("students:record-detail", args=[world.record.pk])).content.decode()
    assert "写得真好" in page and "欢迎再来" in page


def test_outsiders_cannot_comment(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获")
    url = reverse("students:reflection-comment", args=[world.record.pk])
    for user in (world.other_teacher, world.other_coordinator):
        client.force_login(user)
        assert client.post(url, {"text": "x"}).status_code == 404
    client.force_login(world.school_admin)  # sees the record, but is not its organiser
    assert client.post(url, {"text": "x"}).status_code == 400
    assert not Notification.objects.filter(code="reflection.commented").exists()


def test_the_head_teacher_marks_and_unmarks_a_typical_case_audited_and_told(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获")
    url = reverse("students:reflection-typical", args=[world.record.pk])
    client.force_login(world.head_teacher)
    client.post(url, {"typical": "1"})
    reflection = Reflection.objects.get()
    assert reflection.is_typical and reflection.typical_marked_by == world.head_teacher
    assert AuditLog.objects.filter(
        action="reflection.typical_mark", actor=world.head_teacher
    ).exists()
    assert Notification.objects.filter(user=world.student.user, code="reflection.typical").exists()
    # Locked for the student while marked.
    with pytest.raises(ReflectionError) as refused:
        reflection_save(record=world.record, author=world.student.user, text="改一下")
    assert refused.value.code == "typical_locked"
    client.post(url, {"typical": "0"})
    reflection.refresh_from_db()
    assert not reflection.is_typical
    assert AuditLog.objects.filter(action="reflection.typical_unmark").exists()
    assert Notification.objects.filter(code="reflection.typical_removed").exists()


def test_only_the_students_head_teacher_marks_a_typical_case(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获")
    url = reverse("students:reflection-typical", args=[world.record.pk])
    client.force_login(world.other_teacher)
    assert client.post(url, {"typical": "1"}).status_code == 404
    client.force_login(world.coordinator)
    assert client.post(url, {"typical": "1"}).status_code == 404
    assert not Reflection.objects.get().is_typical


# ------------------------------------------------------------------------------
# Notice and disputes
# ------------------------------------------------------------------------------
def test_the_class_sees_the_reflection_on_the_notice_page_with_the_name_masked(client, world):
    reflection_save(record=world.record, author=world.student.user, text="很有收获的一天")
    notice = reverse("students:school-notice", args=[world.school.pk])
    client.force_login(world.classmate)
    page = client.get(notice).content.decode()
    assert "很有收获的一天" in page and "李*明" in page and "李小明" not in page
    client.force_login(world.other_student)  # same school, another class
    page = client.get(notice).content.decode()
    assert "很有收获的一天" not in page
    assert "No reflections are in public notice" in page


def test_after_its_notice_the_reflection_leaves_the_notice_page(client, world):
    reflection = reflection_save(record=world.record, author=world.student.user, text="很有收获")
    Reflection.objects.filter(pk=reflection.pk).update(
        notice_ends_on=timezone.localdate() - timedelta(days=1)
    )
    client.force_login(world.classmate)
    page = client.get(reverse("students:school-notice", args=[world.school.pk])).content.decode()
    assert "很有收获" not in page


def test_a_classmate_disputes_a_reflection_and_the_base_withdraws_it(client, world):
    reflection = reflection_save(record=world.record, author=world.student.user, text="照片里是我")
    client.force_login(world.head_teacher)
    client.post(reverse("students:reflection-typical", args=[world.record.pk]), {"typical": "1"})
    client.force_login(world.classmate)
    response = client.post(
        reverse("students:reflection-dispute", args=[reflection.pk]), {"reason": "照片里是我"}
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.about == DisputeAbout.REFLECTION
    reflection.refresh_from_db()
    world.record.refresh_from_db()
    assert reflection.status == ReflectionStatus.DISPUTED
    assert world.record.status == RecordStatus.IN_NOTICE  # the record goes on
    assert Notification.objects.filter(user=world.coordinator, code="reflection.dispute.answerer")
    told = Notification.objects.get(user=world.student.user, code="reflection.dispute.student")
    assert "王同学" not in told.text
    client.force_login(world.coordinator)
    page = client.get(reverse("students:record-detail", args=[world.record.pk])).content.decode()
    assert "Withdraw the reflection" in page and "Correct the times" not in page
    # The organiser does not learn which classmate objected.
    full = world.classmate.get_full_name()
    assert mask_name(full) in page and full not in page
    listing = client.get(reverse("students:disputes")).content.decode()
    assert "About the reflection" in listing and full not in listing
    response = client.post(
        reverse("students:dispute-answer", args=[dispute.pk]),
        {"answer": "revoke", "reason": "属实，撤下"},
    )
    assert response.status_code == 302
    reflection.refresh_from_db()
    world.record.refresh_from_db()
    assert reflection.status == ReflectionStatus.WITHDRAWN and not reflection.is_typical
    assert world.record.status == RecordStatus.IN_NOTICE
    assert Notification.objects.filter(code="reflection.dispute.withdrawn").count() == 2


def test_an_upheld_reflection_is_shown_again(world):
    reflection = reflection_save(record=world.record, author=world.student.user, text="很有收获")
    from students.disputes import reflection_dispute_raise

    dispute = reflection_dispute_raise(
        reflection=reflection, raised_by=world.head_teacher, reason="请核实"
    )
    dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="属实")
    reflection.refresh_from_db()
    assert reflection.status == ReflectionStatus.SHOWN


def test_the_author_and_other_classes_cannot_dispute_a_reflection(client, world):
    reflection = reflection_save(record=world.record, author=world.student.user, text="很有收获")
    url = reverse("students:reflection-dispute", args=[reflection.pk])
    for user in (world.student.user, world.other_student, world.other_teacher):
        client.force_login(user)
        assert client.post(url, {"reason": "不对"}).status_code == 404
    assert not Dispute.objects.exists()


def test_a_record_dispute_and_a_reflection_dispute_can_be_open_together(world):
    from students.disputes import dispute_raise, reflection_dispute_raise

    reflection = reflection_save(record=world.record, author=world.student.user, text="很有收获")
    reflection_dispute_raise(reflection=reflection, raised_by=world.classmate, reason="不实")
    dispute_raise(record=world.record, raised_by=world.student.user, reason="时间不对")
    assert Dispute.objects.filter(status="open").count() == 2
    record_dispute = Dispute.objects.get(about=DisputeAbout.RECORD)
    dispute_revoke(dispute=record_dispute, answered_by=world.coordinator, reason="撤销")
    world.record.refresh_from_db()
    reflection.refresh_from_db()
    assert world.record.status == RecordStatus.REVOKED
    assert reflection.status == ReflectionStatus.DISPUTED


def test_empty_state_on_a_record_without_reflection(client, world):
    client.force_login(world.head_teacher)
    page = client.get(reverse("students:record-detail", args=[world.record.pk])).content.decode()
    assert "The student has not written a reflection on this record." in page


def test_the_notice_page_makes_the_same_number_of_queries_for_more_reflections(client, world):
    from tests.queries import queries_for

    def add_reflection(student):
        record = add_record(
            student, day=timezone.localdate() - timedelta(days=1), status=RecordStatus.IN_NOTICE
        )
        reflection_save(record=record, author=student.user, text="很有收获")
        picture = io.BytesIO(png_bytes())
        from portal.uploads import read_image
        from students.reflections import reflection_photo_add

        reflection_photo_add(record=record, author=student.user, image=read_image(picture.read()))

    add_reflection(world.student)
    url = reverse("students:school-notice", args=[world.school.pk])
    client.force_login(world.classmate)
    few, page = queries_for(lambda: client.get(url))
    assert len(page.context["reflections"]["rows"]) == 1
    for n in range(5):
        add_reflection(StudentFactory(name=f"同学{n}", school_class=world.student.school_class))
    many, page = queries_for(lambda: client.get(url))
    assert len(page.context["reflections"]["rows"]) == 6
    assert few == many
