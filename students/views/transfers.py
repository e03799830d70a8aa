"""Transfers between schools: the receiving school asks, the sending school answers."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.http import attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.uploads import read_json_upload

from ..models import SchoolClass, TeacherAssignment, TeacherRole, TransferStatus
from ..selectors import school_class_list_for_user, student_list_for_user
from ..transfers.packages import record_package_build, record_package_import
from ..transfers.selectors import transfer_get_for_user, transfer_list_for_user
from ..transfers.services import (
    TransferError,
    transfer_confirm,
    transfer_refuse,
    transfer_request,
    transfer_withdraw,
)
from ..transfers.signing import (
    SigningKeyMissing,
    fingerprint,
    public_key_pem,
    signing_key,
)

PAGE_SIZE = 25


class TransferRequestForm(forms.Form):
    student_number = forms.CharField(label=gettext_lazy("Student number (学籍号)"), max_length=32)
    to_class = forms.ModelChoiceField(
        label=gettext_lazy("Into class"), queryset=SchoolClass.objects.none()
    )
    note = forms.CharField(
        label=gettext_lazy("Note to the sending school"), max_length=500, required=False
    )

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_class"].queryset = classes
        self.fields["to_class"].label_from_instance = lambda c: c.name


class RefuseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


@role_required(Role.SCHOOL_ADMIN)
def transfers(request: HttpRequest) -> HttpResponse:
    classes = school_class_list_for_user(user=request.user)
    form = TransferRequestForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = transfer_request(
                requested_by=request.user,
                student_number=form.cleaned_data["student_number"],
                to_class=form.cleaned_data["to_class"],
                note=form.cleaned_data["note"],
            )
        except TransferError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Asked %(school)s to confirm the transfer of %(name)s.")
                % {"school": transfer.from_school.name, "name": transfer.student.name},
            )
            return redirect("students:transfers")
    mine = TeacherAssignment.objects.filter(
        user=request.user, role=TeacherRole.SCHOOL_ADMIN
    ).values("school")
    everything = transfer_list_for_user(user=request.user)
    to_answer = list(everything.filter(status=TransferStatus.REQUESTED, from_school__in=mine))
    page = Paginator(everything, PAGE_SIZE).get_page(request.GET.get("page"))
    try:
        own_key = fingerprint(signing_key().public_key())
    except SigningKeyMissing:
        own_key = ""
    return render(
        request,
        "students/transfers.html",
        {
            "form": form,
            "to_answer": to_answer,
            "page": page,
            "upload_form": PackageUploadForm(classes=classes),
            "own_key": own_key,
        },
        status=400 if form.errors else 200,
    )


@role_required(Role.SCHOOL_ADMIN)
def transfer_detail(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = transfer_get_for_user(user=request.user, transfer_id=transfer_id)
    sending = TeacherAssignment.objects.filter(
        user=request.user, school=transfer.from_school, role=TeacherRole.SCHOOL_ADMIN
    ).exists()
    return render(
        request,
        "students/transfer_detail.html",
        {
            "transfer": transfer,
            "can_answer": sending and transfer.is_open,
            "can_withdraw": not sending and transfer.is_open,
            "refuse_form": RefuseForm(),
            "records": transfer.student.records.count(),
        },
    )


def _answer(request: HttpRequest, transfer_id: int, action) -> HttpResponse:
    transfer = transfer_get_for_user(user=request.user, transfer_id=transfer_id)
    try:
        action(transfer)
    except TransferError as error:
        messages.error(request, error.messages[0])
    return redirect("students:transfer-detail", transfer_id=transfer.pk)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def transfer_confirm_view(request: HttpRequest, transfer_id: int) -> HttpResponse:
    def confirm(transfer):
        transfer_confirm(transfer=transfer, confirmed_by=request.user)
        messages.success(request, _("Transfer confirmed."))

    return _answer(request, transfer_id, confirm)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def transfer_refuse_view(request: HttpRequest, transfer_id: int) -> HttpResponse:
    def refuse(transfer):
        transfer_refuse(
            transfer=transfer, refused_by=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Transfer refused; the receiving school is told why."))

    return _answer(request, transfer_id, refuse)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def transfer_withdraw_view(request: HttpRequest, transfer_id: int) -> HttpResponse:
    def withdraw(transfer):
        transfer_withdraw(transfer=transfer, withdrawn_by=request.user)
        messages.success(request, _("Request withdrawn."))

    return _answer(request, transfer_id, withdraw)


# ------------------------------------------------------------------------------
# Record packages between installations
# ------------------------------------------------------------------------------
class PackageUploadForm(forms.Form):
    package = forms.FileField(label=gettext_lazy("Record package (.json)"))
    school_class = forms.ModelChoiceField(
        label=gettext_lazy("Into class"), queryset=SchoolClass.objects.none()
    )

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].queryset = classes
        self.fields["school_class"].label_from_instance = lambda c: c.name


@role_required(Role.SCHOOL_ADMIN)
def record_package_download(request: HttpRequest) -> HttpResponse:
    """The signed package of a student of the admin's school (学籍号 in `student_number`)."""
    number = request.GET.get("student_number", "").strip().upper()[:32]
    student = get_object_or_404(student_list_for_user(user=request.user), student_number=number)
    try:
        content = record_package_build(student=student, user=request.user)
    except SigningKeyMissing as error:
        messages.error(request, error.messages[0])
        return redirect("students:transfers")
    return attachment_response(
        content,
        filename=f"record-package-{student.student_number}.json",
        content_type="application/json",
    )


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def record_package_upload(request: HttpRequest) -> HttpResponse:
    classes = school_class_list_for_user(user=request.user)
    form = PackageUploadForm(request.POST, request.FILES, classes=classes)
    if form.is_valid():
        try:
            content, _document = read_json_upload(
                form.cleaned_data["package"], max_bytes=settings.RECORD_PACKAGE_MAX_BYTES
            )
            package, created = record_package_import(
                content=content,
                school_class=form.cleaned_data["school_class"],
                imported_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            if created:
                messages.success(
                    request,
                    _("%(name)s taken in from %(installation)s: %(count)s records added.")
                    % {
                        "name": package.student.name,
                        "installation": package.installation.name,
                        "count": package.records_created,
                    },
                )
            else:
                messages.info(request, _("This package was already imported; nothing changed."))
    else:
        messages.error(request, _("Choose a package file and a class."))
    return redirect("students:transfers")


def signing_public_key(request: HttpRequest) -> HttpResponse:
    """This installation's public key, for another installation to trust (public)."""
    try:
        key = signing_key().public_key()
    except SigningKeyMissing:
        raise Http404 from None
    return attachment_response(
        public_key_pem(key).encode("ascii"),
        filename=f"portal-public-key-{fingerprint(key)[:16]}.pem",
        content_type="application/x-pem-file",
    )
