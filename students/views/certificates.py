"""Certificates: a student's own, one student's by a teacher, a whole class's; public check."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.http import PDF_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required

from ..certificates import (
    certificate_changes,
    certificate_get_by_code,
    certificate_issue,
    certificates_issue_for_class,
    render_certificate_pdf,
    render_certificates_pdf,
)
from ..models import RecordStatus, mask_name
from ..practice_report import practice_report_issue, render_practice_report_pdf
from ..selectors import school_class_get_for_user, student_get_for_user, student_of_user

ISSUER_ROLES = (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN)


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    return attachment_response(content, filename=filename, content_type=PDF_CONTENT_TYPE)


@require_POST
@role_required(Role.STUDENT)
def my_certificate(request: HttpRequest) -> HttpResponse:
    """The signed-in student's own certificate, issued now."""
    student = student_of_user(user=request.user)
    if student is None:
        raise Http404
    certificate = certificate_issue(student=student, issued_by=request.user)
    return _pdf(
        render_certificate_pdf(certificate, site_url=_site_url(request)),
        f"certificate-{timezone.localdate().isoformat()}.pdf",
    )


@require_POST
@role_required(*ISSUER_ROLES)
def student_certificate(request: HttpRequest, student_id: int) -> HttpResponse:
    student = student_get_for_user(user=request.user, student_id=student_id)
    certificate = certificate_issue(student=student, issued_by=request.user)
    return _pdf(
        render_certificate_pdf(certificate, site_url=_site_url(request)),
        f"certificate-{student.student_number}-{timezone.localdate().isoformat()}.pdf",
    )


@require_POST
@role_required(*ISSUER_ROLES)
def class_certificates(request: HttpRequest, class_id: int) -> HttpResponse:
    """Every student's certificate of a class as one PDF, one student per page (or more)."""
    school_class = school_class_get_for_user(user=request.user, school_class_id=class_id)
    certificates = certificates_issue_for_class(school_class=school_class, issued_by=request.user)
    return _pdf(
        render_certificates_pdf(certificates, site_url=_site_url(request)),
        f"certificates-{school_class.school.code}-{school_class.entry_year}-"
        f"{school_class.number}-{timezone.localdate().isoformat()}.pdf",
    )


@require_POST
@role_required(Role.STUDENT)
def my_practice_report(request: HttpRequest) -> HttpResponse:
    """The signed-in student's own 纪实报告, issued now."""
    student = student_of_user(user=request.user)
    if student is None:
        raise Http404
    report = practice_report_issue(student=student, issued_by=request.user)
    return _pdf(
        render_practice_report_pdf(report, site_url=_site_url(request)),
        f"practice-report-{timezone.localdate().isoformat()}.pdf",
    )


@require_POST
@role_required(*ISSUER_ROLES)
def student_practice_report(request: HttpRequest, student_id: int) -> HttpResponse:
    """A student's 纪实报告 for their head teacher or school admin; 404 for anyone else."""
    student = student_get_for_user(user=request.user, student_id=student_id)
    report = practice_report_issue(student=student, issued_by=request.user)
    return _pdf(
        render_practice_report_pdf(report, site_url=_site_url(request)),
        f"practice-report-{student.student_number}-{timezone.localdate().isoformat()}.pdf",
    )


@require_GET
def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone holding a certificate checks it here, without signing in."""
    certificate = certificate_get_by_code(code=code)
    if certificate is None:
        response = render(request, "students/certificate_verify.html", {"found": False})
        response.status_code = 404
    else:
        snapshot = certificate.snapshot
        changes = certificate_changes(certificate)
        response = render(
            request,
            "students/certificate_verify.html",
            {
                "found": True,
                "certificate": certificate,
                "masked_name": mask_name(snapshot["student"]["name"]),
                "school": snapshot["student"]["school"],
                "totals": snapshot["totals"],
                "record_count": len(snapshot.get("records", [])),
                "changes": changes,
                "revoked": [c for c in changes if c.change in ("revoked", "missing")],
                "corrected": [c for c in changes if c.change == "corrected"],
                "disputed": [c for c in changes if c.change == RecordStatus.DISPUTED],
            },
        )
    # The code is the secret: keep it out of search engines and other sites' logs.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
