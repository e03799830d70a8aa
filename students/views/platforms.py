"""Records from other platforms: upload and preview (school admin, or a student for their own),
confirm or reject, and the school's decisions on overlaps, both sides side by side."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.sheet_problems import problems_for_reader
from portal.uploads import (
    DEFAULT_LIMITS,
    MULTIPART_ALLOWANCE,
    InMemoryUpload,
    UploadRefused,
    upload_too_large,
)

from ..forms import OverlapDecisionForm, PlatformRejectForm, PlatformUploadForm
from ..models import PlatformImport, PlatformImportStatus, PlatformRecord, School, Student
from ..platforms.reading import MAX_UPLOAD_BYTES, PLATFORM_COLUMNS
from ..platforms.services import (
    BACKGROUND_ROWS,
    PlatformImportError,
    platform_import_confirm,
    platform_import_preview,
    platform_import_progress,
    platform_import_queue,
    platform_import_reject,
    platform_overlap_decide,
    platform_overlaps_for_admin,
)
from ..platforms.template import platform_instructions, platform_template_xlsx
from ..selectors import school_get_for_user
from ..services import LedgerError

RECENT_IMPORTS = 10
PREVIEW_PER_PAGE = 50
OVERLAPS_PER_PAGE = 20


def _own_student(request: HttpRequest) -> Student:
    student = Student.objects.filter(user=request.user).select_related("school_class__school")
    found = student.first()
    if found is None:
        raise Http404
    return found


def _where(request: HttpRequest, school_id: int | None) -> tuple[School, Student | None]:
    """(school, the student uploading their own records or None for the school's admin)."""
    if school_id is None:
        if request.user.role != Role.STUDENT:
            raise Http404
        student = _own_student(request)
        return student.school_class.school, student
    return school_get_for_user(user=request.user, school_id=school_id), None


def _render_upload(request, school, student, form, *, refusal="", status=200) -> HttpResponse:
    imports = PlatformImport.objects.filter(school=school).select_related("uploaded_by")
    if student is not None:
        imports = imports.filter(student=student)
    return render(
        request,
        "students/platform_upload.html",
        {
            "school": school,
            "student": student,
            "form": form,
            "refusal": refusal,
            "imports": imports.order_by("-created_at", "-id")[:RECENT_IMPORTS],
            "instructions": platform_instructions(),
            "columns": [
                (platform, sorted(mapping.items(), key=lambda kv: kv[1]))
                for platform, mapping in PLATFORM_COLUMNS.items()
            ],
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "max_rows": DEFAULT_LIMITS.max_data_rows,
        },
        status=status,
    )


@csrf_exempt
@role_required(Role.SCHOOL_ADMIN, Role.STUDENT)
def platform_upload(request: HttpRequest, school_id: int | None = None) -> HttpResponse:
    """The upload page; a POST checks the export (Content-Length first, then the CSRF token)."""
    school, student = _where(request, school_id)
    handler = None
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
            error = upload_too_large(declared)
            return _render_upload(
                request, school, student, PlatformUploadForm(), refusal=error.messages[0],
                status=413,
            )  # fmt: skip
        handler = InMemoryUpload(request)
        request.upload_handlers = [handler]
    return _upload_checked(request, school, student, handler)


@csrf_protect
def _upload_checked(request, school, student, handler) -> HttpResponse:
    if request.method != "POST":
        return _render_upload(request, school, student, PlatformUploadForm())
    form = PlatformUploadForm(request.POST, request.FILES)
    if handler is not None and handler.too_large:
        error = upload_too_large(MAX_UPLOAD_BYTES + 1)
        return _render_upload(request, school, student, form, refusal=error.messages[0], status=413)
    if not form.is_valid():
        return _render_upload(request, school, student, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        item = platform_import_preview(
            school=school,
            platform=form.cleaned_data["platform"],
            content=upload.read(MAX_UPLOAD_BYTES + 1),
            original_name=upload.name,
            uploaded_by=request.user,
            student=student,
        )
    except UploadRefused as error:
        return _render_upload(
            request, school, student, PlatformUploadForm(), refusal=error.messages[0], status=400
        )
    except PlatformImportError as error:
        form.add_error(None, error)
        return _render_upload(request, school, student, form, status=400)
    return redirect("students:platform-import", import_id=item.pk)


@role_required(Role.SCHOOL_ADMIN, Role.STUDENT)
def platform_template(request: HttpRequest) -> HttpResponse:
    return attachment_response(
        platform_template_xlsx(),
        filename="other-platform-template.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )


def _import_for(request: HttpRequest, import_id: int) -> tuple[PlatformImport, bool]:
    """(the upload, whether the user is its school's admin); 404 outside the user's scope."""
    found = get_object_or_404(
        PlatformImport.objects.select_related("school", "uploaded_by", "student"), pk=import_id
    )
    if request.user.role == Role.STUDENT:
        if found.student is None or found.student.user_id != request.user.pk:
            raise Http404
        return found, False
    school_get_for_user(user=request.user, school_id=found.school_id)
    if request.user.role != Role.SCHOOL_ADMIN:
        raise Http404
    return found, True


@role_required(Role.SCHOOL_ADMIN, Role.STUDENT)
def platform_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """The preview: each row and what confirming does with it, or every bad row and field."""
    item, is_admin = _import_for(request, import_id)
    errors = item.errors or []
    waiting = item.status in (PlatformImportStatus.PREVIEWED, PlatformImportStatus.AWAITING_REVIEW)
    importing = item.status == PlatformImportStatus.IMPORTING
    checking = item.status == PlatformImportStatus.CHECKING
    return render(
        request,
        "students/platform_import.html",
        {
            "item": item,
            "summary": item.summary,
            "page": Paginator(item.preview or [], PREVIEW_PER_PAGE).get_page(
                request.GET.get("page")
            ),
            "row_errors": problems_for_reader([e for e in errors if e.get("row")]),
            "file_errors": problems_for_reader([e for e in errors if not e.get("row")]),
            "can_confirm": is_admin and waiting,
            "can_reject": is_admin and item.status == PlatformImportStatus.AWAITING_REVIEW,
            "reject_form": PlatformRejectForm(),
            "is_admin": is_admin,
            "importing": importing,
            "checking": checking,
            "progress": platform_import_progress(upload=item) if importing else None,
        },
    )


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def platform_import_confirm_view(request: HttpRequest, import_id: int) -> HttpResponse:
    item, _is_admin = _import_for(request, import_id)
    if item.row_count > BACKGROUND_ROWS:
        result = platform_import_queue(upload=item, confirmed_by=request.user)
        if result.status == PlatformImportStatus.IMPORTING:
            messages.info(request, _("Importing in the background; this page shows how far it is."))
        return redirect("students:platform-import", import_id=result.pk)
    result = platform_import_confirm(upload=item, confirmed_by=request.user)
    if result.status == PlatformImportStatus.IMPORTED:
        messages.success(request, _("The records are imported."))
    else:
        messages.error(request, _("Nothing was imported; see the problems below."))
    return redirect("students:platform-import", import_id=result.pk)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def platform_import_reject_view(request: HttpRequest, import_id: int) -> HttpResponse:
    item, _is_admin = _import_for(request, import_id)
    form = PlatformRejectForm(request.POST)
    if form.is_valid():
        try:
            platform_import_reject(
                upload=item, rejected_by=request.user, reason=form.cleaned_data["reason"]
            )
        except PlatformImportError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("The student is told your reason."))
    else:
        messages.error(request, _("Give a reason: the student is told it."))
    return redirect("students:platform-import", import_id=item.pk)


def _render_overlaps(request, school, *, form=None, form_for=None, status=200) -> HttpResponse:
    overlaps = platform_overlaps_for_admin(user=request.user, school=school)
    return render(
        request,
        "students/platform_overlaps.html",
        {
            "school": school,
            "page": Paginator(overlaps, OVERLAPS_PER_PAGE).get_page(request.GET.get("page")),
            "form": form,
            "form_for": form_for,
        },
        status=status,
    )


@role_required(Role.SCHOOL_ADMIN)
def platform_overlaps(request: HttpRequest, school_id: int) -> HttpResponse:
    return _render_overlaps(request, school_get_for_user(user=request.user, school_id=school_id))


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def platform_overlap_decide_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(PlatformRecord.objects.select_related("student__school_class"),
                             pk=item_id)  # fmt: skip
    school = school_get_for_user(user=request.user, school_id=item.student.school_class.school_id)
    item = get_object_or_404(platform_overlaps_for_admin(user=request.user, school=school),
                             pk=item_id)  # fmt: skip
    form = OverlapDecisionForm(request.POST)
    if form.is_valid():
        try:
            platform_overlap_decide(
                item=item,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
                decided_by=request.user,
                started_at=form.cleaned_data["started_at"],
                ended_at=form.cleaned_data["ended_at"],
            )
        except (PlatformImportError, LedgerError) as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Decided: %(name)s.") % {"name": item.student.name})
            return redirect(reverse("students:platform-overlaps", args=[school.pk]))
    return _render_overlaps(request, school, form=form, form_for=item.pk, status=400)
