"""Certificates: issue with a snapshot, print (one or a whole class), verify in public."""

import io
import re
import time
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from portal.models import AuditLog
from students.certificates import (
    certificate_issue,
    certificates_issue_for_class,
    render_certificate_pdf,
    render_certificates_pdf,
)
from students.models import Certificate, RecordStatus
from students.services import practice_record_correct, practice_record_revoke
from tests.factories import (
    PASSWORD,
    HeadTeacherFactory,
    SchoolClassFactory,
    StudentFactory,
    UserFactory,
)
from tests.queries import queries_for
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db
SITE = "https://portal.example.org"


@pytest.fixture
def student():
    """李明: 2 final volunteer records (3 h each), a 3-day 学农, one in notice, one disputed."""
    school_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=3)
    student = StudentFactory(name="李小明", school_class=school_class, student_number="G31000001")
    add_record(student, day=date(2025, 10, 10))
    add_record(student, day=date(2025, 10, 17))
    add_record(student, day=date(2026, 4, 13), minutes=0, category_code="rural_practice", days=3)
    add_record(student, day=date(2026, 11, 20), minutes=120, status=RecordStatus.IN_NOTICE)
    add_record(student, day=date(2026, 11, 21), minutes=60, status=RecordStatus.DISPUTED)
    return student


def pdf_text(content: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_issuing_stores_the_totals_and_each_records_version_and_status(student):
    issuer = UserFactory()
    certificate = certificate_issue(student=student, issued_by=issuer)
    totals = certificate.snapshot["totals"]
    assert totals["volunteer_minutes"] == 180 + 180 + 120
    assert totals["credit_hours"] == "12.0"
    assert totals["practice_days"] == 2 + 3 + 1
    assert totals["disputed_records"] == 1
    entries = certificate.snapshot["records"]
    assert [(e["version"], e["status"]) for e in entries] == [
        (1, "final"),
        (1, "final"),
        (1, "final"),
        (1, "in_notice"),
    ]
    assert {e["id"] for e in entries} == set(
        student.records.exclude(status=RecordStatus.DISPUTED).values_list("id", flat=True)
    )
    audit = AuditLog.objects.get(action="certificate.issue")
    assert audit.actor == issuer and audit.object_id == str(certificate.pk)


def test_each_certificate_gets_its_own_unguessable_code(student):
    codes = {certificate_issue(student=student, issued_by=None).code for _ in range(5)}
    assert len(codes) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", code) for code in codes)


def test_the_pdf_shows_the_records_totals_issue_date_and_verification_url(student):
    certificate = certificate_issue(student=student, issued_by=None)
    text, pages = pdf_text(render_certificate_pdf(certificate, site_url=SITE))
    assert pages == 1
    assert "李小明" in text and "G31000001" in text and "徐汇中学" in text
    assert "12.0" in text and "60" in text and "90" in text
    assert "学农" in text
    assert timezone.localdate().isoformat() in text
    url = f"{SITE}/verify/{certificate.code}/"
    assert url in text.replace("\n", "")


def test_the_pdf_carries_a_qr_code_of_the_verification_url(student):
    from students.certificates import verification_qr_svg, verification_url

    certificate = certificate_issue(student=student, issued_by=None)
    url = verification_url(certificate, site_url=SITE)
    assert url == f"{SITE}/verify/{certificate.code}/"
    svg = verification_qr_svg(url)
    assert svg.startswith("<svg") and "path" in svg


def test_a_whole_class_prints_as_one_pdf_in_one_render(student, capsys):
    for n in range(44):
        classmate = StudentFactory(school_class=student.school_class, name=f"同学{n:02d}号")
        add_record(classmate, day=date(2025, 10, 10 + n % 15))
    issued = time.perf_counter()
    certificates = certificates_issue_for_class(school_class=student.school_class, issued_by=None)
    rendered = time.perf_counter()
    content = render_certificates_pdf(certificates, site_url=SITE)
    done = time.perf_counter()
    text, pages = pdf_text(content)
    assert len(certificates) == Certificate.objects.count() == 45
    assert pages == 45
    assert "李小明" in text and "同学43号" in text
    assert AuditLog.objects.filter(action="certificate.issue").count() == 45
    with capsys.disabled():
        print(
            f"\n45 certificates: issue {rendered - issued:.2f} s, render {done - rendered:.2f} s, "
            f"{len(content) / 1024:.0f} KiB"
        )
    assert done - rendered < 30


def test_the_class_issue_makes_a_fixed_number_of_queries(student):
    bigger = SchoolClassFactory(school=student.school_class.school, entry_year=2025, number=4)
    for _ in range(12):
        add_record(StudentFactory(school_class=bigger), day=date(2025, 10, 10))

    def issue(school_class):
        return queries_for(
            lambda: certificates_issue_for_class(school_class=school_class, issued_by=None)
        )

    (small, one), (large, twelve) = issue(student.school_class), issue(bigger)
    assert (len(one), len(twelve)) == (1, 12)
    # A savepoint and its release, students, policies, ledger, records, one insert of all the
    # certificates and one of all their audit entries, whatever the size of the class.
    assert small == large == 2 + 6
    entries = AuditLog.objects.filter(
        action="certificate.issue", object_id__in=[str(c.pk) for c in twelve]
    )
    assert sorted(e.data["student_id"] for e in entries) == sorted(c.student_id for c in twelve)


class TestVerification:
    def test_anyone_can_verify_an_unchanged_certificate(self, client, student):
        certificate = certificate_issue(student=student, issued_by=None)
        response = client.get(f"/verify/{certificate.code}/")
        html = response.content.decode()
        assert response.status_code == 200
        assert 'data-state="unchanged"' in html
        assert "李*明" in html and "李小明" not in html
        assert "徐汇中学" in html
        assert "12.0 / 60" in html and "6 / 90" in html
        assert timezone.localtime(certificate.issued_at).strftime("%Y-%m-%d") in html
        assert response["X-Robots-Tag"] == "noindex, nofollow"

    def test_it_says_plainly_when_a_record_was_corrected_or_revoked_since(self, client, student):
        certificate = certificate_issue(student=student, issued_by=None)
        first, second = student.records.filter(status="final").order_by("started_at")[:2]
        teacher = UserFactory()
        practice_record_correct(
            record=first,
            started_at=first.started_at,
            ended_at=first.ended_at,
            credited_minutes=90,
            changed_by=teacher,
            reason="签退时间有误",
        )
        practice_record_revoke(record=second, revoked_by=teacher, reason="重复记录")
        html = client.get(f"/verify/{certificate.code}/").content.decode()
        assert 'data-state="changed"' in html
        assert 'data-change="corrected"' in html and "180" in html and "90" in html
        assert 'data-change="revoked"' in html

    def test_an_unknown_code_is_not_found(self, client):
        response = client.get("/verify/not-a-real-code-at-all-xxxxxxxxx/")
        assert response.status_code == 404
        assert 'data-testid="verify-result"' in response.content.decode()

    def test_it_makes_two_queries(self, client, student):
        busy = StudentFactory(school_class=student.school_class)
        for day in range(12):
            add_record(busy, day=date(2025, 10, 1) + timedelta(days=day))

        def verify(someone):
            certificate = certificate_issue(student=someone, issued_by=None)
            count, response = queries_for(lambda: client.get(f"/verify/{certificate.code}/"))
            assert response.status_code == 200
            return count, len(certificate.snapshot["records"])

        (small, few), (large, many) = verify(student), verify(busy)
        assert (few, many) == (4, 12)
        assert small == large == 2


class TestDownloads:
    def test_a_student_downloads_their_own_certificate(self, client, student):
        client.login(username=student.user.username, password=PASSWORD)
        response = client.post("/certificates/me/")
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        text, _ = pdf_text(response.content)
        assert "李小明" in text
        assert Certificate.objects.get().issued_by == student.user

    def test_downloading_needs_a_post(self, client, student):
        client.login(username=student.user.username, password=PASSWORD)
        assert client.get("/certificates/me/").status_code == 405

    def test_a_head_teacher_prints_their_class_only(self, client, student):
        teacher = HeadTeacherFactory(school_class=student.school_class).user
        other = HeadTeacherFactory().user
        client.login(username=other.username, password=PASSWORD)
        assert client.post(f"/certificates/classes/{student.school_class.pk}/").status_code == 404
        assert client.post(f"/certificates/students/{student.pk}/").status_code == 404
        client.login(username=teacher.username, password=PASSWORD)
        response = client.post(f"/certificates/classes/{student.school_class.pk}/")
        assert response["Content-Type"] == "application/pdf"
        text, pages = pdf_text(response.content)
        assert pages == 1 and "李小明" in text
        assert "http://testserver/verify/" in text.replace("\n", "")

    def test_a_student_cannot_print_anyone_elses(self, client, student):
        client.login(username=student.user.username, password=PASSWORD)
        assert client.post(f"/certificates/students/{student.pk}/").status_code == 404


def test_a_record_past_midnight_is_listed_with_both_dates(student):
    start = timezone.make_aware(datetime(2026, 5, 1, 22, 0))
    record = add_record(student, day=date(2026, 5, 1))
    record.started_at, record.ended_at = start, start + timedelta(hours=3)
    record.save()
    certificate = certificate_issue(student=student, issued_by=None)
    entry = next(e for e in certificate.snapshot["records"] if e["id"] == record.pk)
    assert (entry["first_date"], entry["last_date"], entry["days"]) == (
        "2026-05-01",
        "2026-05-02",
        2,
    )
