"""Scenario "certificate PDF": a student's certificate, and a whole class of 45 at once.

- portal: `certificate_issue` then `render_certificate_pdf` for one student (the snapshot of
  their progress and records, the page with its QR code, WeasyPrint), for 5 students; and
  `certificates_issue_for_class` plus `render_certificates_pdf` for a class of 45 (one PDF);
- baseline: WeasyPrint alone (`students.pdf.html_to_pdf`) on the HTML of the same single
  certificate, already rendered: the PDF engine's own cost, which the portal cannot go below.

Figure: seconds per certificate (median of the single ones); the class's total and per-page
time are in the details. The issue sets no goal for it: it is reported. Correct: every PDF has
a page (at least) per certificate, and every certificate's totals (volunteer minutes, practice
days, records) are those the bare SQL of the class report gives.
"""

import io
import time

from django.template.loader import render_to_string
from pypdf import PdfReader

from portal.models import AuditLog
from students.certificates import (
    _page,
    certificate_issue,
    certificates_issue_for_class,
    render_certificate_pdf,
    render_certificates_pdf,
)
from students.models import Certificate, Student
from students.pdf import html_to_pdf

from .class_report import baseline_numbers, classes_of
from .harness import Context, Goal, median_spread, scenario

SINGLES = 5
CLASS_SIZE = 45


def totals_right(certificates, expected) -> bool:
    for certificate in certificates:
        totals = certificate.snapshot["totals"]
        tally = expected.get((certificate.student_id, "total"))
        want = (tally.volunteer_minutes, tally.days) if tally else (0, 0)
        records = tally.records if tally else 0
        got = (totals["volunteer_minutes"], totals["practice_days"])
        if got != want or len(certificate.snapshot["records"]) != records:
            return False
    return True


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


@scenario("certificate PDF", goal=Goal("— (reported; no goal in the issue)"), unit="s/certificate")
def certificate_pdf(ctx: Context) -> dict:
    school_class = classes_of(CLASS_SIZE, 1)[0]
    expected = baseline_numbers(school_class.pk)
    people = list(
        Student.objects.filter(school_class=school_class)
        .select_related("school_class__school")
        .order_by("pk")[:SINGLES]
    )
    made, problems = [], []
    single_seconds, engine_seconds = [], []
    audit_from = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        for student in people:
            started = time.perf_counter()
            certificate = certificate_issue(student=student, issued_by=None)
            pdf = render_certificate_pdf(certificate)
            single_seconds.append(time.perf_counter() - started)
            made.append(certificate.pk)
            if pages(pdf) < 1 or not totals_right([certificate], expected):
                problems.append(f"certificate of student {student.pk}")
            html = render_to_string(
                "students/certificate_pdf.html", {"pages": [_page(certificate, None)]}
            )
            started = time.perf_counter()
            html_to_pdf(html)
            engine_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        certificates = certificates_issue_for_class(school_class=school_class, issued_by=None)
        pdf = render_certificates_pdf(certificates)
        class_seconds = time.perf_counter() - started
        made += [c.pk for c in certificates]
        if pages(pdf) < len(certificates) or not totals_right(certificates, expected):
            problems.append("the class's certificates")
    finally:
        Certificate.objects.filter(pk__in=made).delete()
        AuditLog.objects.filter(pk__gt=audit_from, action="certificate.issue").delete()
    portal, _ = median_spread(single_seconds)
    baseline, _ = median_spread(engine_seconds)
    size = len(certificates)
    return {
        "portal": portal,
        "baseline": baseline,
        "correct": not problems and size > 0,
        "details": {
            "single_seconds": [round(s, 3) for s in single_seconds],
            "engine_seconds": [round(s, 3) for s in engine_seconds],
            "class_size": size,
            "class_seconds": round(class_seconds, 2),
            "class_seconds_per_certificate": round(class_seconds / size, 3),
            "class_pages": pages(pdf),
            "problems": problems,
            "note": f"one certificate {portal:.2f} s (WeasyPrint alone on its HTML "
            f"{baseline:.2f} s); a class of {size} in one PDF: {class_seconds:.1f} s "
            f"({class_seconds / size:.2f} s a certificate).",
        },
    }
