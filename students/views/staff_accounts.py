"""Admins' accounts from a sheet: the district admin's school admins, the city admin's district
admins. Upload (the dry run), the preview by row and field, confirm; the new logins' slips are
printed on the admins' logins page (`roster.staff_logins_page`)."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from districts.accounts import (
    MAX_UPLOAD_BYTES,
    AccountScope,
    account_import_confirm,
    account_import_preview,
    account_template_xlsx,
    district_admins_scope,
)
from districts.models import AccountImport, AccountImportKind, AccountImportStatus
from districts.selectors import district_get_for_user, district_list_for_user
from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.sheet_problems import problems_for_reader
from portal.uploads import MULTIPART_ALLOWANCE, UploadRefused, upload_too_large

from ..staff_accounts import school_admins_scope

RECENT_IMPORTS = 10


class AccountSheetForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Admins' sheet (xlsx or csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


def account_scope_for(request: HttpRequest, district_id: int | None) -> tuple[AccountScope, str]:
    """The admins the user brings in (a district's school admins, or the districts' admins)
    and the page of their logins; 404 for anyone else."""
    if district_id is None:
        if request.user.role != Role.CITY_ADMIN:
            raise Http404
        return district_admins_scope(), reverse("students:district-admin-logins")
    district = district_get_for_user(user=request.user, district_id=district_id)
    return (
        school_admins_scope(district=district),
        reverse("students:school-admin-logins", args=[district.pk]),
    )


def account_imports_recent(scope: AccountScope):
    return (
        AccountImport.objects.filter(kind=scope.kind, district=scope.district)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:RECENT_IMPORTS]
    )


@require_POST
@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def account_sheet_upload(request: HttpRequest, district_id: int | None = None) -> HttpResponse:
    """Check an admins' sheet (nothing written but the upload itself) and show its preview."""
    scope, back = account_scope_for(request, district_id)
    # The declared size first: a file far over the limit is refused before it is received.
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
        messages.error(request, upload_too_large(declared).messages[0])
        return redirect(back)
    form = AccountSheetForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a sheet to upload."))
        return redirect(back)
    upload = form.cleaned_data["file"]
    try:
        if upload.size > MAX_UPLOAD_BYTES:
            raise upload_too_large(upload.size)
        account_import = account_import_preview(
            scope=scope,
            content=upload.read(MAX_UPLOAD_BYTES + 1),
            original_name=upload.name,
            uploaded_by=request.user,
        )
    except UploadRefused as error:
        messages.error(request, error.messages[0])
        return redirect(back)
    return redirect("students:account-import", import_id=account_import.pk)


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def account_sheet_template(request: HttpRequest, district_id: int | None = None) -> HttpResponse:
    scope, _back = account_scope_for(request, district_id)
    return attachment_response(
        account_template_xlsx(scope=scope),
        filename=f"{scope.kind}-template.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )


def _import_for(request: HttpRequest, import_id: int) -> tuple[AccountImport, AccountScope, str]:
    if request.user.role == Role.CITY_ADMIN:
        found = AccountImport.objects.all()  # the city also reaches every district's pages
    else:
        found = AccountImport.objects.filter(
            kind=AccountImportKind.SCHOOL_ADMINS,
            district__in=district_list_for_user(user=request.user),
        )
    account_import = get_object_or_404(found.select_related("uploaded_by"), pk=import_id)
    scope, back = account_scope_for(request, account_import.district_id)
    return account_import, scope, back


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def account_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """The preview: how many accounts confirming creates and changes, or each bad row and field."""
    account_import, _scope, back = _import_for(request, import_id)
    errors = account_import.errors or []
    return render(
        request,
        "students/account_import.html",
        {
            "item": account_import,
            "summary": account_import.summary,
            "back_url": back,
            "row_errors": problems_for_reader([e for e in errors if e.get("row")]),
            "file_errors": problems_for_reader([e for e in errors if not e.get("row")]),
            "can_confirm": account_import.status == AccountImportStatus.PREVIEWED,
        },
    )


@require_POST
@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def account_import_confirm_view(request: HttpRequest, import_id: int) -> HttpResponse:
    account_import, scope, _back = _import_for(request, import_id)
    result = account_import_confirm(
        account_import=account_import, scope=scope, confirmed_by=request.user
    )
    if result.status == AccountImportStatus.IMPORTED:
        messages.success(request, _("The accounts are saved. Print their login slips."))
    else:
        messages.error(request, _("Nothing was imported; see the problems below."))
    return redirect("students:account-import", import_id=result.pk)
