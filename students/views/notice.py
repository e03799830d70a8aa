"""Public notice (公示) pages, a student's records, a record's history, and disputes.

A school's notice page is open to the school's own students, head teachers and admins, and to
the coordinators of bases whose records are on it (who see only their own base's records);
everyone else gets 404. Names are masked on it (张*明).
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from portal.services import audit_log_record

from ..disputes import (
    RAISER_ROLES,
    DisputeError,
    dispute_correct,
    dispute_get_for_answerer,
    dispute_list_open_for_answerer,
    dispute_raise,
    dispute_revoke,
    dispute_uphold,
    in_notice,
    may_raise_dispute,
    notice_records_for_school,
    notice_reflections_for_school,
    notice_school_get_for_user,
    notice_schools_for_user,
    raisable_record_ids,
    record_get_for_viewer,
    user_answers_record,
)
from ..forms import Answer, DisputeAnswerForm, DisputeRaiseForm
from ..models import Dispute, DisputeStatus, PracticeRecord, Reflection, ReflectionStatus
from ..services import LedgerError
from .reflection_context import reflection_context

NOTICE_PER_PAGE = 50
RECORDS_PER_PAGE = 50
NOTICE_ROLES = (Role.STUDENT, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN, Role.COORDINATOR)
ANSWER_ROLES = (Role.COORDINATOR, Role.SCHOOL_ADMIN)
VIEWER_ROLES = (*NOTICE_ROLES, Role.DISTRICT_ADMIN, Role.CITY_ADMIN, Role.GUARDIAN)


@role_required(*NOTICE_ROLES)
def notice_index(request: HttpRequest) -> HttpResponse:
    """The notice pages the user may open; straight to it when there is only one."""
    schools = list(notice_schools_for_user(user=request.user))
    if len(schools) == 1:
        return redirect("students:school-notice", school_id=schools[0].pk)
    return render(request, "students/notice_index.html", {"schools": schools})


@role_required(*NOTICE_ROLES)
def school_notice(request: HttpRequest, school_id: int) -> HttpResponse:
    school = notice_school_get_for_user(user=request.user, school_id=school_id)
    records = notice_records_for_school(user=request.user, school=school)
    page = Paginator(records, NOTICE_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    raisable = raisable_record_ids(user=request.user, record_ids=[r.pk for r in rows])
    today = timezone.localdate()
    return render(
        request,
        "students/notice.html",
        {
            "school": school,
            "page": page,
            "rows": [
                {
                    "record": record,
                    "masked_name": record.student.masked_name,
                    "may_raise": record.pk in raisable and in_notice(record, today=today),
                }
                for record in rows
            ],
            "is_organiser_view": request.user.role == Role.COORDINATOR,
            "reflections": _notice_reflections(request, school),
        },
    )


def _notice_reflections(request: HttpRequest, school) -> dict:
    """The reflections in notice the user sees on the school's page, masked, one page of them."""
    reflections = notice_reflections_for_school(user=request.user, school=school)
    page = Paginator(reflections, NOTICE_PER_PAGE).get_page(request.GET.get("rpage"))
    may_object = request.user.role in RAISER_ROLES
    return {
        "page": page,
        "rows": [
            {
                "reflection": reflection,
                "record": reflection.record,
                "masked_name": reflection.record.student.masked_name,
                "may_dispute": may_object
                and reflection.status == ReflectionStatus.SHOWN
                and reflection.record.student.user_id != request.user.pk,
            }
            for reflection in page.object_list
        ],
    }


@role_required(Role.STUDENT)
def my_records(request: HttpRequest) -> HttpResponse:
    """A student's own records with their state, and whether a dispute is open."""
    return records_page(request, PracticeRecord.objects.filter(student__user=request.user))


def records_page(request: HttpRequest, records, *, student=None) -> HttpResponse:
    """The records page of the student (or, with `student`, of a guardian's child)."""
    records = (
        records.select_related("category")
        .annotate(
            open_dispute=Exists(
                Dispute.objects.filter(record=OuterRef("pk"), status=DisputeStatus.OPEN)
            ),
            any_dispute=Exists(Dispute.objects.filter(record=OuterRef("pk"))),
            has_reflection=Exists(Reflection.objects.filter(record=OuterRef("pk"))),
        )
        .order_by("-started_at", "-pk")
    )
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "students/my_records.html",
        {"page": page, "today": timezone.localdate(), "child": student},
    )


def _render_record(
    request: HttpRequest,
    record: PracticeRecord,
    *,
    raise_form: DisputeRaiseForm | None = None,
    answer_form: DisputeAnswerForm | None = None,
    answer_for: int | None = None,
    reflection_forms: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The record page: facts, reflection (with what the user may do to it), disputes, history.

    `answer_form` is the bound form of the open dispute `answer_for` (record or reflection).
    """
    user = request.user
    disputes = list(
        record.disputes.select_related("raised_by", "answered_by").order_by("raised_at", "pk")
    )
    versions = list(record.versions.select_related("changed_by", "category").order_by("version"))
    open_disputes = [d for d in disputes if d.status == DisputeStatus.OPEN]
    answers = bool(open_disputes) and user_answers_record(user=user, record=record)
    may_raise = may_raise_dispute(user=user, record=record)
    answer_forms = []
    if answers:
        for dispute in open_disputes:
            form = answer_form if answer_for == dispute.pk else None
            answer_forms.append(
                (dispute, form or DisputeAnswerForm(record=record, about=dispute.about))
            )
    return render(
        request,
        "students/dispute_record.html",
        {
            "record": record,
            "student": record.student,
            "versions": versions,
            "disputes": disputes,
            "open_dispute": next((d for d in open_disputes if d.about == "record"), None),
            "raise_form": (raise_form or DisputeRaiseForm()) if may_raise else None,
            "answer_forms": answer_forms,
            **reflection_context(request, record, forms=reflection_forms or {}),
        },
        status=status,
    )


@role_required(*VIEWER_ROLES)
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    """One record in full: its versions (who, when, why), its disputes, and what the user may do."""
    record = record_get_for_viewer(user=request.user, record_id=record_id)
    audit_log_record(actor=request.user, action="record.view", target=record, data={})
    return _render_record(request, record)


@require_POST
@role_required(Role.STUDENT, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN)
def dispute_raise_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = record_get_for_viewer(user=request.user, record_id=record_id)
    form = DisputeRaiseForm(request.POST)
    if form.is_valid():
        try:
            dispute_raise(record=record, raised_by=request.user, reason=form.cleaned_data["reason"])
        except DisputeError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(
                request,
                _("Your dispute was sent. The record is held until the organiser answers."),
            )
            return redirect("students:record-detail", record_id=record.pk)
        return redirect("students:record-detail", record_id=record.pk)
    return _render_record(request, record, raise_form=form, status=400)


@role_required(*ANSWER_ROLES)
def disputes_open(request: HttpRequest) -> HttpResponse:
    """Open disputes about records the user organised, oldest first, and their notice pages."""
    disputes = dispute_list_open_for_answerer(user=request.user)
    page = Paginator(disputes, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    schools = []
    if request.user.role == Role.COORDINATOR:
        schools = list(notice_schools_for_user(user=request.user))
    return render(
        request,
        "students/disputes_open.html",
        {"page": page, "schools": schools},
    )


@require_POST
@role_required(*ANSWER_ROLES)
def dispute_answer_view(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = dispute_get_for_answerer(user=request.user, dispute_id=dispute_id)
    record = dispute.record
    form = DisputeAnswerForm(request.POST, record=record, about=dispute.about)
    if not form.is_valid():
        record = record_get_for_viewer(user=request.user, record_id=record.pk)
        return _render_record(request, record, answer_form=form, answer_for=dispute.pk, status=400)
    data = form.cleaned_data
    try:
        if data["answer"] == Answer.UPHOLD:
            dispute_uphold(dispute=dispute, answered_by=request.user, reason=data["reason"])
        elif data["answer"] == Answer.CORRECT:
            dispute_correct(
                dispute=dispute,
                answered_by=request.user,
                reason=data["reason"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                credited_minutes=data["credited_minutes"],
            )
        else:
            dispute_revoke(dispute=dispute, answered_by=request.user, reason=data["reason"])
    except LedgerError as error:
        form.add_error(None, error)
        record = record_get_for_viewer(user=request.user, record_id=record.pk)
        return _render_record(request, record, answer_form=form, answer_for=dispute.pk, status=400)
    messages.success(request, _("Answer sent; the student and who raised the dispute are told."))
    return redirect("students:record-detail", record_id=record.pk)
