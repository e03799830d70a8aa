"""The 纪实报告: records by school year and category, totals against the requirement, the
typical cases with their photos, a verification QR; for the student and their teachers only."""

import io
import subprocess
from datetime import date

import pytest
import segno
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from portal.models import AuditLog
from portal.uploads import read_image
from students.certificates import QR_MASK
from students.models import Certificate, RecordStatus
from students.practice_report import (
    practice_report_issue,
    render_practice_report_pdf,
    report_context,
)
from students.reflections import (
    reflection_photo_add,
    reflection_save,
    reflection_typical_mark,
)
from tests.factories import (
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    StudentFactory,
)
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db
SITE = "https://portal.example.org"


@pytest.fixture
def student():
    """李小明 (entry 2025): two volunteer records in 2025-2026, a 学农 and one volunteer record in
    2026-2027; a typical case with a photo on the first record."""
    school_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=3)
    student = StudentFactory(name="李小明", school_class=school_class, student_number="G31000001")
    first = add_record(student, day=date(2025, 10, 10), title="图书馆图书整理")
    add_record(student, day=date(2025, 10, 17), title="医院分诊引导")
    add_record(
        student, day=date(2026, 9, 14), minutes=0, category_code="rural_practice", days=3,
        title="高二学农",
    )  # fmt: skip
    add_record(
        student,
        day=date(2026, 11, 20),
        minutes=120,
        title="社区敬老",
        status=RecordStatus.IN_NOTICE,
    )
    head_teacher = HeadTeacherFactory(school_class=school_class).user
    reflection = reflection_save(
        record=first, author=student.user, text="整理图书让我学会了耐心与分类的方法。"
    )
    picture = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 160, 80)).save(picture, "JPEG")
    reflection_photo_add(record=first, author=student.user, image=read_image(picture.getvalue()))
    reflection_typical_mark(reflection=reflection, marked_by=head_teacher)
    student.head_teacher = head_teacher
    return student


def pdftotext(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def test_the_report_lists_records_by_year_and_category_totals_and_the_typical_case(student):
    report = practice_report_issue(student=student, issued_by=student.user)
    text = pdftotext(render_practice_report_pdf(report, site_url=SITE))
    flat = " ".join(text.split())
    assert "纪实报告" in text and "李小明" in text and "G31000001" in text
    for title in ("图书馆图书整理", "医院分诊引导", "高二学农", "社区敬老"):
        assert title in text
    # Two school years, each with its categories and subtotals.
    assert "2025-2026" in text and "2026-2027" in text
    assert "志愿服务" in text and "学农" in text
    # Totals against the requirement: 180+180+120 minutes = 12.0 学时 of 60; 1+1+3+1 days of 90.
    assert "12.0 / 60" in flat and "6 / 90" in flat
    assert "整理图书让我学会了耐心与分类的方法。" in flat
    assert f"{SITE}/verify/{report.code}/" in flat.replace(" ", "")


def test_the_typical_cases_photo_is_in_the_pdf(student):
    report = practice_report_issue(student=student, issued_by=None)
    reader = PdfReader(io.BytesIO(render_practice_report_pdf(report, site_url=SITE)))
    images = {image.name: image for page in reader.pages for image in page.images}
    assert len(images) == 1
    assert next(iter(images.values())).image.size == (400, 300)


def test_the_qr_code_encodes_the_verification_page_like_the_certificates(student):
    report = practice_report_issue(student=student, issued_by=None)
    context = report_context(report, site_url=SITE)
    url = f"{SITE}/verify/{report.code}/"
    assert context["url"] == url
    assert context["qr_svg"] == segno.make(url, error="m", mask=QR_MASK).svg_inline(
        scale=3, border=2
    )


def test_the_report_is_verified_on_the_certificate_page(client, student):
    report = practice_report_issue(student=student, issued_by=None)
    assert report.snapshot["kind"] == "practice_report"
    assert [c["text"] for c in report.snapshot["typical_cases"]] == [
        "整理图书让我学会了耐心与分类的方法。"
    ]
    page = client.get(reverse("students:certificate-verify", args=[report.code]))
    assert page.status_code == 200
    assert "纪实报告" in page.content.decode()
    assert AuditLog.objects.filter(action="certificate.issue", object_id=str(report.pk)).exists()


def test_the_report_without_records_or_typical_cases_says_so():
    student = StudentFactory(name="张三")
    report = practice_report_issue(student=student, issued_by=None)
    from django.utils import translation

    with translation.override("en"):
        text = pdftotext(render_practice_report_pdf(report, site_url=SITE))
    assert "No records yet." in text
    assert "No reflection has been marked as a typical case yet." in text


def test_the_student_and_their_teachers_download_it_and_others_get_404(client, student):
    client.force_login(student.user)
    response = client.post(reverse("students:my-practice-report"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "整理图书让我学会了耐心与分类的方法。" in " ".join(pdftotext(response.content).split())
    url = reverse("students:student-practice-report", args=[student.pk])
    school_admin = SchoolAdminFactory(school=student.school_class.school).user
    for user in (student.head_teacher, school_admin):
        client.force_login(user)
        assert client.post(url).status_code == 200
    other_class = SchoolClassFactory(school=student.school_class.school)
    for user in (HeadTeacherFactory(school_class=other_class).user, StudentFactory().user):
        client.force_login(user)
        assert client.post(url).status_code == 404
    assert Certificate.objects.filter(student=student).count() == 3
