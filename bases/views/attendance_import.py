"""A coordinator imports the base's own attendance sheet: template, upload, dry run, confirm.

The upload view checks Content-Length before anything reads the body (so it is exempt from the
CSRF middleware, which would read the body first, and checks the token itself afterwards), and
keeps the file in memory up to the limit; a bigger part is dropped while streaming.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.sheet_problems import problems_for_reader
from portal.uploads import MULTIPART_ALLOWANCE, InMemoryUpload

from ..attendance_import import (
    BACKGROUND_ROWS,
    MAX_DATA_ROWS,
    MAX_UPLOAD_BYTES,
    ImportRefused,
    attendance_import_confirm,
    attendance_import_preview,
    attendance_import_queue,
    attendance_import_refusal_log,
    template_xlsx,
    upload_too_large,
)
from ..errors import BaseError
from ..models import AttendanceImport, Base, ImportStatus
from ..selectors import bases_of_coordinator

RECENT_IMPORTS = 20


class SheetUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Attendance sheet (xlsx or csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


class _InMemoryUpload(InMemoryUpload):
    max_bytes = MAX_UPLOAD_BYTES


def _base_for(request: HttpRequest, base_id: int) -> Base:
    return get_object_or_404(bases_of_coordinator(user=request.user), pk=base_id)


def _import_for(request: HttpRequest, import_id: int) -> AttendanceImport:
    return get_object_or_404(
        AttendanceImport.objects.filter(base__coordinators__user=request.user).select_related(
            "base", "uploaded_by"
        ),
        pk=import_id,
    )


def _render_upload(
    request: HttpRequest,
    base: Base,
    form: SheetUploadForm,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    recent = (
        AttendanceImport.objects.filter(base=base)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:RECENT_IMPORTS]
    )
    return render(
        request,
        "bases/import_upload.html",
        {
            "base": base,
            "form": form,
            "refusal": refusal,
            "imports": recent,
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "max_rows": MAX_DATA_ROWS,
        },
        status=status,
    )


@role_required(Role.COORDINATOR)
def attendance_import_index(request: HttpRequest) -> HttpResponse:
    """The coordinator's bases to import for; straight to the upload page when there is one."""
    bases = list(bases_of_coordinator(user=request.user))
    if len(bases) == 1:
        return redirect("bases:attendance-import", base_id=bases[0].pk)
    return render(request, "bases/import_index.html", {"bases": bases})


def _refuse(
    request: HttpRequest, base: Base, error: ImportRefused, *, size: int, status: int
) -> HttpResponse:
    """Show why a file was refused; only a trace of it is kept, never the file."""
    attendance_import_refusal_log(base=base, uploaded_by=request.user, error=error, size=size)
    return _render_upload(
        request, base, SheetUploadForm(), refusal=error.messages[0], status=status
    )


@csrf_exempt
@role_required(Role.COORDINATOR)
def attendance_import_upload(request: HttpRequest, base_id: int) -> HttpResponse:
    base = _base_for(request, base_id)
    if request.method != "POST":
        return _upload_checked(request, base, None)
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
        # Refused before a byte of the body is read.
        return _refuse(request, base, upload_too_large(declared), size=declared, status=413)
    handler = _InMemoryUpload(request)
    request.upload_handlers = [handler]
    return _upload_checked(request, base, handler)


@csrf_protect
def _upload_checked(
    request: HttpRequest, base: Base, handler: _InMemoryUpload | None
) -> HttpResponse:
    if request.method != "POST":
        return _render_upload(request, base, SheetUploadForm())
    form = SheetUploadForm(request.POST, request.FILES)
    if handler is not None and handler.too_large:
        size = MAX_UPLOAD_BYTES + 1
        return _refuse(request, base, upload_too_large(size), size=size, status=413)
    if not form.is_valid():
        return _render_upload(request, base, form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        return _refuse(request, base, upload_too_large(upload.size), size=upload.size, status=413)
    content = upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        attendance_import = attendance_import_preview(
            base=base, content=content, original_name=upload.name, uploaded_by=request.user
        )
    except ImportRefused as error:
        return _refuse(request, base, error, size=len(content), status=400)
    except BaseError as error:
        form.add_error(None, error)
        return _render_upload(request, base, form, status=400)
    return redirect("bases:attendance-import-detail", import_id=attendance_import.pk)


@role_required(Role.COORDINATOR)
def attendance_import_template(request: HttpRequest, base_id: int) -> HttpResponse:
    base = _base_for(request, base_id)
    day = timezone.localdate().isoformat()
    return attachment_response(
        template_xlsx(base=base),
        filename=f"attendance-template-{base.code}-{day}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )


@role_required(Role.COORDINATOR)
def attendance_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """The dry run's result: counts, every problem by row and column, and the confirm button."""
    attendance_import = _import_for(request, import_id)
    errors = attendance_import.errors or []
    return render(
        request,
        "bases/import_detail.html",
        {
            "item": attendance_import,
            "errors": errors,
            "row_errors": problems_for_reader([e for e in errors if e.get("row")]),
            "file_errors": problems_for_reader([e for e in errors if not e.get("row")]),
            "repeats": attendance_import.row_count - attendance_import.created_count,
            "can_confirm": attendance_import.status == ImportStatus.PREVIEWED,
            "importing": attendance_import.status == ImportStatus.IMPORTING,
        },
    )


@require_POST
@role_required(Role.COORDINATOR)
def attendance_import_confirm_view(request: HttpRequest, import_id: int) -> HttpResponse:
    attendance_import = _import_for(request, import_id)
    if attendance_import.row_count > BACKGROUND_ROWS:
        attendance_import_queue(attendance_import=attendance_import, confirmed_by=request.user)
        messages.info(request, _("Importing in the background; this page shows when it is done."))
        return redirect("bases:attendance-import-detail", import_id=attendance_import.pk)
    try:
        attendance_import = attendance_import_confirm(
            attendance_import=attendance_import, confirmed_by=request.user
        )
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        if attendance_import.status == ImportStatus.IMPORTED:
            messages.success(
                request,
                _("Imported: %(added)s rows added, %(repeats)s already recorded.")
                % {
                    "added": attendance_import.created_count,
                    "repeats": attendance_import.row_count - attendance_import.created_count,
                },
            )
        else:
            messages.error(
                request,
                _("Nothing was imported: the sheet no longer passes the checks (see below)."),
            )
    return redirect("bases:attendance-import-detail", import_id=attendance_import.pk)
