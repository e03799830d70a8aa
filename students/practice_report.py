"""The 纪实报告 (record of social practice): one student's records by school year and category,
the totals against the requirement, and the typical cases (典型事例) with their photos.

Issued like a certificate (`students.certificates`): a `Certificate` row keeps what the report
said, with the typical cases' text, and its code makes the verification QR and page the same
as the certificate's. The PDF is rendered from that snapshot; only the photos are read from
their files at rendering time (a photo removed since is left out).
"""

import base64
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import get_language

from portal.models import User

from .certificates import certificate_issue, verification_qr_svg, verification_url
from .models import Certificate, RecordStatus, ReflectionPhoto, SchoolClass, Student
from .pdf import html_to_pdf
from .progress import credit_hours, school_year_for, school_year_label
from .reflections import typical_reflections_of

REPORT_KIND = "practice_report"


def _typical_case_entry(reflection) -> dict:
    record = reflection.record
    return {
        "record_id": record.pk,
        "reflection_id": reflection.pk,
        "title": record.title,
        "organiser": record.organiser_name,
        "category_zh": record.category.name_zh,
        "category_en": record.category.name_en,
        "first_date": record.dates[0].isoformat(),
        "text": reflection.text,
        "photo_ids": [photo.pk for photo in reflection.photos.all()],
        "marked_at": reflection.typical_marked_at.isoformat(),
    }


@transaction.atomic
def practice_report_issue(*, student: Student, issued_by: User | None) -> Certificate:
    """Issue the student's 纪实报告 as it stands now (audited as a certificate issue)."""
    cases = [_typical_case_entry(r) for r in typical_reflections_of(student=student)]
    return certificate_issue(
        student=student,
        issued_by=issued_by,
        extra={"kind": REPORT_KIND, "typical_cases": cases},
    )


@dataclass
class Group:
    """Records of one category in one school year, with their subtotal."""

    category_name: str
    records: list[dict]
    hours: object
    days: int


@dataclass
class YearSection:
    label: str
    grade: int
    groups: list[Group]
    hours: object
    days: int


def _distinct_days(entries: list[dict]) -> int:
    """Dates touched by these records (each a contiguous run of dates), each date once."""
    days: set[date] = set()
    for entry in entries:
        day, last = date.fromisoformat(entry["first_date"]), date.fromisoformat(entry["last_date"])
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return len(days)


def _volunteer_minutes(entries: list[dict]) -> int:
    return sum(e["minutes"] for e in entries if e["volunteer"])


def _photo_data_url(photo: ReflectionPhoto) -> str | None:
    try:
        with photo.image.open("rb") as source:
            content = source.read()
    except (FileNotFoundError, OSError, ValueError):
        return None
    kind = "png" if photo.image.name.endswith(".png") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(content).decode('ascii')}"


def report_context(certificate: Certificate, *, site_url: str | None = None) -> dict:
    """What the report shows, from the certificate's snapshot (photos from their files)."""
    snapshot = certificate.snapshot
    student = snapshot["student"]
    totals = snapshot["totals"]
    per_hour = totals["minutes_per_credit_hour"]
    entry_year = student["entry_year"]
    english = (get_language() or "").startswith("en")
    name_key = "category_en" if english else "category_zh"

    years: dict[int, dict[str, list[dict]]] = {}
    for entry in snapshot["records"]:
        first = date.fromisoformat(entry["first_date"])
        row = {
            **entry,
            "first": first,
            "last": date.fromisoformat(entry["last_date"]),
            "hours": credit_hours(entry["minutes"], per_hour),
            "status_label": RecordStatus(entry["status"]).label,
        }
        year = school_year_for(first, entry_year)
        years.setdefault(year, {}).setdefault(entry[name_key], []).append(row)
    sections = []
    for year in sorted(years):
        groups = [
            Group(
                category_name=name,
                records=rows,
                hours=credit_hours(_volunteer_minutes(rows), per_hour),
                days=_distinct_days(rows),
            )
            for name, rows in years[year].items()
        ]
        every = [row for group in groups for row in group.records]
        sections.append(
            YearSection(
                label=school_year_label(year),
                grade=year - entry_year + 1,
                groups=groups,
                hours=credit_hours(_volunteer_minutes(every), per_hour),
                days=_distinct_days(every),
            )
        )
    photos = {
        photo.pk: photo
        for photo in ReflectionPhoto.objects.filter(
            pk__in=[i for case in snapshot.get("typical_cases", []) for i in case["photo_ids"]]
        )
    }
    cases = [
        {
            **case,
            "category_name": case[name_key],
            "first": date.fromisoformat(case["first_date"]),
            "photos": [
                url
                for i in case["photo_ids"]
                if i in photos and (url := _photo_data_url(photos[i])) is not None
            ],
        }
        for case in snapshot.get("typical_cases", [])
    ]
    url = verification_url(certificate, site_url=site_url)
    return {
        "certificate": certificate,
        "student": student,
        "class_name": SchoolClass(entry_year=entry_year, number=student["class_number"]).name,
        "totals": totals,
        "hours_met": totals["volunteer_minutes"] >= totals["hours_required"] * per_hour,
        "days_met": totals["practice_days"] >= totals["days_required"],
        "sections": sections,
        "record_count": len(snapshot["records"]),
        "typical_cases": cases,
        "url": url,
        "qr_svg": verification_qr_svg(url),
    }


def render_practice_report_pdf(certificate: Certificate, *, site_url: str | None = None) -> bytes:
    """The 纪实报告 of an issued report as a PDF (Chinese fonts, QR code, typical cases' photos)."""
    context = report_context(certificate, site_url=site_url)
    return html_to_pdf(render_to_string("students/practice_report_pdf.html", context))
