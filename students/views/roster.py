"""A school admin onboards the school: roster template, upload, preview, confirm; class logins
with printable slips; a head teacher resets a student's login in their own class."""

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from districts.selectors import district_get_for_user
from portal.activation import user_is_activated
from portal.http import PDF_CONTENT_TYPE, XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.services import audit_log_record
from portal.sheet_problems import problems_for_reader
from portal.uploads import (
    DEFAULT_LIMITS,
    MULTIPART_ALLOWANCE,
    InMemoryUpload,
    UploadRefused,
    upload_too_large,
)

from ..login_slips import (
    class_guardian_slips_issue,
    class_login_slips_issue,
    class_logins_pending,
    district_admins,
    render_login_slips_pdf,
    school_admins_of_district,
    staff_login_reset,
    staff_login_slips_issue,
    student_login_reset,
)
from ..models import RosterImport, RosterImportStatus, School, SchoolClass, Student
from ..roster import (
    MAX_UPLOAD_BYTES,
    RosterError,
    roster_import_confirm,
    roster_import_preview,
    roster_template_xlsx,
)
from ..roster.template import roster_instructions
from ..selectors import school_class_get_for_user, school_get_for_user, student_get_for_user
from .staff_accounts import AccountSheetForm, account_imports_recent, account_scope_for

RECENT_IMPORTS = 10


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster sheet (xlsx or csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


def _school_for(request: HttpRequest, school_id: int) -> School:
    return school_get_for_user(user=request.user, school_id=school_id)


def _render_upload(request, school, form, *, refusal: str = "", status: int = 200):
    imports = (
        RosterImport.objects.filter(school=school)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:RECENT_IMPORTS]
    )
    classes = (
        SchoolClass.objects.filter(school=school)
        .annotate(
            present=Count("students", filter=Q(students__left_on__isnull=True)),
            left=Count("students", filter=Q(students__left_on__isnull=False)),
        )
        .order_by("-entry_year", "number")
    )
    return render(
        request,
        "students/roster_upload.html",
        {
            "school": school,
            "form": form,
            "refusal": refusal,
            "imports": imports,
            "classes": classes,
            "instructions": roster_instructions(),
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "max_rows": DEFAULT_LIMITS.max_data_rows,
        },
        status=status,
    )


def _refuse(request, school, error: UploadRefused, *, status: int) -> HttpResponse:
    return _render_upload(
        request, school, RosterUploadForm(), refusal=error.messages[0], status=status
    )


@csrf_exempt
@role_required(Role.SCHOOL_ADMIN)
def roster_upload(request: HttpRequest, school_id: int) -> HttpResponse:
    """The roster page; a POST checks the sheet (Content-Length first, then the CSRF token)."""
    school = _school_for(request, school_id)
    handler = None
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
            return _refuse(request, school, upload_too_large(declared), status=413)
        handler = InMemoryUpload(request)
        request.upload_handlers = [handler]
    return _upload_checked(request, school, handler)


@csrf_protect
def _upload_checked(request, school: School, handler) -> HttpResponse:
    if request.method != "POST":
        return _render_upload(request, school, RosterUploadForm())
    form = RosterUploadForm(request.POST, request.FILES)
    if handler is not None and handler.too_large:
        return _refuse(request, school, upload_too_large(MAX_UPLOAD_BYTES + 1), status=413)
    if not form.is_valid():
        return _render_upload(request, school, form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        return _refuse(request, school, upload_too_large(upload.size), status=413)
    content = upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        roster_import = roster_import_preview(
            school=school, content=content, original_name=upload.name, uploaded_by=request.user
        )
    except UploadRefused as error:
        return _refuse(request, school, error, status=400)
    except RosterError as error:
        form.add_error(None, error)
        return _render_upload(request, school, form, status=400)
    return redirect("students:roster-import", school_id=school.pk, import_id=roster_import.pk)


@role_required(Role.SCHOOL_ADMIN)
def roster_template(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school_for(request, school_id)
    return attachment_response(
        roster_template_xlsx(school=school),
        filename=f"roster-template-{school.code}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )


def _import_for(request, school_id: int, import_id: int) -> RosterImport:
    school = _school_for(request, school_id)
    return get_object_or_404(
        RosterImport.objects.filter(school=school).select_related("school", "uploaded_by"),
        pk=import_id,
    )


@role_required(Role.SCHOOL_ADMIN)
def roster_import_detail(request: HttpRequest, school_id: int, import_id: int) -> HttpResponse:
    """The preview: what would be created, changed and marked left, or every bad row and field."""
    roster_import = _import_for(request, school_id, import_id)
    errors = roster_import.errors or []
    earlier = (
        RosterImport.objects.filter(
            school=roster_import.school,
            sha256=roster_import.sha256,
            status=RosterImportStatus.IMPORTED,
        )
        .exclude(pk=roster_import.pk)
        .order_by("-imported_at")
        .first()
    )
    return render(
        request,
        "students/roster_import.html",
        {
            "item": roster_import,
            "school": roster_import.school,
            "summary": roster_import.summary,
            "row_errors": problems_for_reader([e for e in errors if e.get("row")]),
            "file_errors": problems_for_reader([e for e in errors if not e.get("row")]),
            "can_confirm": roster_import.status == RosterImportStatus.PREVIEWED,
            "earlier": earlier,
        },
    )


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def roster_import_confirm_view(
    request: HttpRequest, school_id: int, import_id: int
) -> HttpResponse:
    roster_import = _import_for(request, school_id, import_id)
    result = roster_import_confirm(roster_import=roster_import, confirmed_by=request.user)
    if result.status == RosterImportStatus.IMPORTED:
        messages.success(request, _("The roster is imported. Print each class's login slips."))
    else:
        messages.error(request, _("Nothing was imported; see the problems below."))
    return redirect("students:roster-import", school_id=school_id, import_id=result.pk)


# ------------------------------------------------------------------------------
# Logins of a class
# ------------------------------------------------------------------------------
SLIP_ROLES = (Role.SCHOOL_ADMIN, Role.HEAD_TEACHER)


@role_required(*SLIP_ROLES)
def class_logins(request: HttpRequest, class_id: int) -> HttpResponse:
    """Who of the class has activated their login; print slips; (head teacher) reset one."""
    school_class = school_class_get_for_user(user=request.user, school_class_id=class_id)
    students = list(
        Student.objects.filter(school_class=school_class)
        .select_related("user")
        .order_by("left_on", "student_number")
    )
    for student in students:
        student.activated = user_is_activated(student.user)
    pending_students, pending_teachers = class_logins_pending(school_class=school_class)
    return render(
        request,
        "students/class_logins.html",
        {
            "school_class": school_class,
            "students": students,
            "pending": len(pending_students) + len(pending_teachers),
            "can_reset": request.user.role == Role.HEAD_TEACHER,
        },
    )


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _class_title(school_class: SchoolClass) -> str:
    return f"{school_class.school.name} {school_class.name}"


def _slips_pdf(request, slips, title: str, name: str) -> HttpResponse:
    response = attachment_response(
        render_login_slips_pdf(slips, title=title, site_url=_site_url(request)),
        filename=f"{name}-{timezone.localdate().isoformat()}.pdf",
        content_type=PDF_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@role_required(*SLIP_ROLES)
def class_login_slips(request: HttpRequest, class_id: int) -> HttpResponse:
    """The class's login slips as a PDF: fresh codes for everyone not yet activated."""
    school_class = school_class_get_for_user(user=request.user, school_class_id=class_id)
    slips = class_login_slips_issue(school_class=school_class, issued_by=request.user)
    audit_log_record(
        actor=request.user,
        action="activation.slips_print",
        target=school_class,
        data={"slips": len(slips)},
    )
    return _slips_pdf(
        request,
        slips,
        _class_title(school_class),
        f"login-slips-{school_class.school.code}-{school_class.entry_year}-{school_class.number}",
    )


@require_POST
@role_required(*SLIP_ROLES)
def class_guardian_slips(request: HttpRequest, class_id: int) -> HttpResponse:
    """Guardian slips as a PDF: a fresh guardian code for each student with no guardian yet."""
    school_class = school_class_get_for_user(user=request.user, school_class_id=class_id)
    slips = class_guardian_slips_issue(school_class=school_class, issued_by=request.user)
    audit_log_record(
        actor=request.user,
        action="guardian_code.slips_print",
        target=school_class,
        data={"slips": len(slips)},
    )
    return _slips_pdf(
        request,
        slips,
        _class_title(school_class),
        f"guardian-slips-{school_class.school.code}-{school_class.entry_year}-{school_class.number}",
    )


@never_cache
@require_POST
@role_required(Role.HEAD_TEACHER)
def student_login_reset_view(request: HttpRequest, student_id: int) -> HttpResponse:
    """A head teacher resets a student of their own class: the new code, shown once."""
    student = student_get_for_user(user=request.user, student_id=student_id)
    if student.user is None or student.left_on is not None:
        raise Http404
    slip = student_login_reset(student=student, reset_by=request.user)
    if request.POST.get("format") == "pdf":
        return _slips_pdf(
            request, [slip], _class_title(student.school_class), f"login-slip-{slip.username}"
        )
    return render(
        request,
        "students/login_reset_done.html",
        {
            "slip": slip,
            "name": student.name,
            "back_url": reverse("students:class-logins", args=[student.school_class_id]),
        },
    )


# ------------------------------------------------------------------------------
# Admins' logins: the district admin for the district's school admins, the city admin for the
# district admins (their accounts come from a sheet, `staff_accounts`; slips and resets here)
# ------------------------------------------------------------------------------
def _staff(request: HttpRequest, district_id: int | None):
    """(title, [(where, user)], kind, page URL) of the admins the user onboards; 404 otherwise."""
    if district_id is None:
        if request.user.role != Role.CITY_ADMIN:
            raise Http404
        people = [(d.name, u) for d, u in district_admins()]
        return (
            _("District admins"),
            people,
            "district_admin",
            reverse("students:district-admin-logins"),
        )
    district = district_get_for_user(user=request.user, district_id=district_id)
    people = [(s.name, u) for s, u in school_admins_of_district(district=district)]
    return (
        _("School admins of %(district)s") % {"district": district.name},
        people,
        "school_admin",
        reverse("students:school-admin-logins", args=[district.pk]),
    )


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def staff_logins_page(request: HttpRequest, district_id: int | None = None) -> HttpResponse:
    title, people, kind, url = _staff(request, district_id)
    if request.method == "POST":
        user_id = request.POST.get("reset")
        if user_id:
            found = [(where, u) for where, u in people if str(u.pk) == user_id]
            if not found:
                raise Http404
            where, user = found[0]
            slip = staff_login_reset(user=user, where=where, reset_by=request.user, kind=kind)
            if request.POST.get("format") == "pdf":
                return _slips_pdf(request, [slip], title, f"login-slip-{slip.username}")
            response = render(
                request,
                "students/login_reset_done.html",
                {"slip": slip, "name": user.get_full_name(), "back_url": url},
            )
            response["Cache-Control"] = "no-store"
            return response
        slips = staff_login_slips_issue(people=people, issued_by=request.user, kind=kind)
        return _slips_pdf(request, slips, title, f"login-slips-{kind}")
    rows = [(where, user, user_is_activated(user)) for where, user in people]
    scope, _url = account_scope_for(request, district_id)
    if district_id is None:
        sheet_url = reverse("students:district-admin-sheet")
        template_url = reverse("students:district-admin-sheet-template")
    else:
        sheet_url = reverse("students:school-admin-sheet", args=[district_id])
        template_url = reverse("students:school-admin-sheet-template", args=[district_id])
    return render(
        request,
        "students/staff_logins.html",
        {
            "title": title,
            "rows": rows,
            "pending": sum(1 for *_, activated in rows if not activated),
            "sheet_form": AccountSheetForm(),
            "sheet_url": sheet_url,
            "template_url": template_url,
            "imports": account_imports_recent(scope),
        },
    )
