"""Transfers between schools: the receiving school asks, the sending school answers."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required

from ..models import SchoolClass, TeacherAssignment, TeacherRole, TransferStatus
from ..selectors import school_class_list_for_user
from ..transfers.selectors import transfer_get_for_user, transfer_list_for_user
from ..transfers.services import (
    TransferError,
    transfer_confirm,
    transfer_refuse,
    transfer_request,
    transfer_withdraw,
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
    return render(
        request,
        "students/transfers.html",
        {"form": form, "to_answer": to_answer, "page": page},
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
