"""Certificates (证明): issue with a snapshot, render to PDF with a QR code, verify by code.

A certificate stores what it said when issued (totals, and each record's id, version and status),
so anyone holding the printed page can check it against the ledger later: a record corrected
since (its version changed) or revoked since is named on the public verification page.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from portal.models import User
from portal.services import audit_log_record_many

from .models import Certificate, PracticeRecord, RecordStatus, SchoolClass, Student
from .pdf import html_to_pdf
from .progress import COUNTED, StudentProgress, credit_hours, progress_for_entry_years

SNAPSHOT_FORMAT = 1


def new_certificate_code() -> str:
    """32 URL-safe characters: 192 random bits, which nobody can guess."""
    return secrets.token_urlsafe(24)


def _record_entry(record: PracticeRecord) -> dict:
    start, end = timezone.localtime(record.started_at), timezone.localtime(record.ended_at)
    dates = record.dates
    return {
        "id": record.pk,
        "version": record.version,
        "status": record.status,
        "category": record.category.code,
        "category_zh": record.category.name_zh,
        "category_en": record.category.name_en,
        "title": record.title,
        "organiser": record.organiser_name,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "first_date": dates[0].isoformat(),
        "last_date": dates[-1].isoformat(),
        "minutes": record.credited_minutes,
        "volunteer": record.category.counts_as_volunteer_service,
        "days": len(dates),
    }


def certificate_snapshot(
    *, student: Student, progress: StudentProgress, records: Iterable[PracticeRecord]
) -> dict:
    """What a certificate says: the student, the totals against the policy, the records."""
    school_class = student.school_class
    return {
        "format": SNAPSHOT_FORMAT,
        "student": {
            "name": student.name,
            "student_number": student.student_number,
            "school": school_class.school.name,
            "school_code": school_class.school.code,
            "entry_year": school_class.entry_year,
            "class_number": school_class.number,
        },
        "totals": {
            "volunteer_minutes": progress.volunteer_minutes,
            "credit_hours": str(progress.credit_hours),
            "practice_days": progress.practice_days,
            "hours_required": progress.hours_required,
            "days_required": progress.days_required,
            "minutes_per_credit_hour": progress.minutes_per_credit_hour,
            "disputed_records": progress.disputed.records,
            "as_of": progress.today.isoformat(),
        },
        "records": [_record_entry(record) for record in records],
    }


def _issue(
    *, students: list[Student], issued_by: User | None, extra: dict | None = None
) -> list[Certificate]:
    today = timezone.localdate()
    progress = progress_for_entry_years(
        {s.pk: s.school_class.entry_year for s in students}, today=today
    )
    records: dict[int, list[PracticeRecord]] = {s.pk: [] for s in students}
    for record in (
        PracticeRecord.objects.filter(student__in=students, status__in=COUNTED)
        .select_related("category")
        .order_by("student_id", "started_at", "id")
    ):
        records[record.student_id].append(record)
    now = timezone.now()
    certificates = Certificate.objects.bulk_create(
        [
            Certificate(
                student=student,
                code=new_certificate_code(),
                issued_at=now,
                issued_by=issued_by,
                snapshot=certificate_snapshot(
                    student=student, progress=progress[student.pk], records=records[student.pk]
                )
                | (extra or {}),
            )
            for student in students
        ]
    )
    audit_log_record_many(
        actor=issued_by,
        action="certificate.issue",
        entries=(
            (
                certificate,
                {
                    "student_id": certificate.student_id,
                    "records": len(certificate.snapshot["records"]),
                    "credit_hours": certificate.snapshot["totals"]["credit_hours"],
                    "practice_days": certificate.snapshot["totals"]["practice_days"],
                },
            )
            for certificate in certificates
        ),
    )
    return certificates


@transaction.atomic
def certificate_issue(
    *, student: Student, issued_by: User | None, extra: dict | None = None
) -> Certificate:
    """Issue one certificate of the student's records as they stand now; `extra` adds keys to
    its snapshot (the 纪实报告 adds its kind and typical cases)."""
    return _issue(students=[student], issued_by=issued_by, extra=extra)[0]


@transaction.atomic
def certificates_issue_for_class(
    *, school_class: SchoolClass, issued_by: User | None
) -> list[Certificate]:
    """Issue a certificate for every student of a class, in student-number order."""
    students = list(
        Student.objects.filter(school_class=school_class)
        .select_related("school_class__school")
        .order_by("student_number")
    )
    return _issue(students=students, issued_by=issued_by)


# ------------------------------------------------------------------------------
# The PDF
# ------------------------------------------------------------------------------
def verification_url(certificate: Certificate, *, site_url: str | None = None) -> str:
    """The absolute URL of the public page verifying a certificate."""
    base = site_url or settings.PORTAL_SITE_URL or "http://localhost:8000"
    path = reverse("students:certificate-verify", args=[certificate.code])
    return base.rstrip("/") + path


# Every mask makes a valid code; the best one only breaks up patterns a reader may stumble on,
# which a URL ending in a random code hardly has. segno picking it scores all eight in Python,
# 85% of making a code (a class prints 45), so the codes use one fixed mask.
QR_MASK = 2


def verification_qr_svg(url: str) -> str:
    return segno.make(url, error="m", mask=QR_MASK).svg_inline(scale=3, border=2)


@dataclass
class CertificatePage:
    certificate: Certificate
    snapshot: dict
    url: str
    qr_svg: str
    class_name: str
    records: list[dict]
    hours_met: bool
    days_met: bool


def _page(certificate: Certificate, site_url: str | None) -> CertificatePage:
    snapshot = certificate.snapshot
    url = verification_url(certificate, site_url=site_url)
    student = snapshot["student"]
    class_name = SchoolClass(entry_year=student["entry_year"], number=student["class_number"]).name
    minutes_per_credit_hour = snapshot["totals"]["minutes_per_credit_hour"]
    english = (get_language() or "").startswith("en")
    status_labels = {status: str(status.label) for status in RecordStatus}
    records = [
        {
            **entry,
            "category_name": entry["category_en"] if english else entry["category_zh"],
            # 2025-10-10, or 2025-10-10 – 10-12 for a record over several dates.
            "dates": entry["first_date"]
            + ("" if entry["last_date"] == entry["first_date"] else f" – {entry['last_date'][5:]}"),
            "status_label": status_labels[entry["status"]],
            "hours": credit_hours(entry["minutes"], minutes_per_credit_hour)
            if entry["volunteer"]
            else "–",
        }
        for entry in snapshot["records"]
    ]
    totals = snapshot["totals"]
    return CertificatePage(
        certificate=certificate,
        snapshot=snapshot,
        url=url,
        qr_svg=verification_qr_svg(url),
        class_name=class_name,
        records=records,
        hours_met=totals["volunteer_minutes"] >= totals["hours_required"] * minutes_per_credit_hour,
        days_met=totals["practice_days"] >= totals["days_required"],
    )


def render_certificates_pdf(
    certificates: Iterable[Certificate], *, site_url: str | None = None
) -> bytes:
    """Several certificates as one PDF (one render), each starting on a new page."""
    pages = [_page(certificate, site_url) for certificate in certificates]
    return html_to_pdf(render_to_string("students/certificate_pdf.html", {"pages": pages}))


def render_certificate_pdf(certificate: Certificate, *, site_url: str | None = None) -> bytes:
    """One certificate as a PDF: records, totals against the requirement, date, QR code."""
    return render_certificates_pdf([certificate], site_url=site_url)


# ------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordChange:
    entry: dict
    change: str  # "corrected", "revoked", "disputed" or "missing"
    minutes_now: int | None = None


def certificate_get_by_code(*, code: str) -> Certificate | None:
    return (
        Certificate.objects.select_related("student__school_class__school")
        .filter(code=code)
        .first()
    )


def certificate_changes(certificate: Certificate) -> list[RecordChange]:
    """Records on the certificate corrected, revoked or put under dispute since it was issued."""
    entries = certificate.snapshot.get("records", [])
    now = {
        row["id"]: row
        for row in PracticeRecord.objects.filter(pk__in=[e["id"] for e in entries]).values(
            "id", "version", "status", "credited_minutes"
        )
    }
    changes = []
    for entry in entries:
        current = now.get(entry["id"])
        if current is None:
            changes.append(RecordChange(entry, "missing"))
        elif current["status"] == RecordStatus.REVOKED:
            changes.append(RecordChange(entry, "revoked"))
        elif current["version"] != entry["version"]:
            changes.append(RecordChange(entry, "corrected", current["credited_minutes"]))
        elif current["status"] == RecordStatus.DISPUTED:
            changes.append(RecordChange(entry, "disputed"))
    return changes
