"""Schools' side of the bases: a school admin's contracts, a head teacher's class bookings."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from districts.models import District
from districts.selectors import district_list
from portal.models import Role, User
from portal.roles import role_required
from students.models import School, Student, TeacherRole
from students.selectors import school_class_list_for_user, school_get_for_user

from ..errors import BaseError
from ..forms import ContractForm, NameStudentForm, ReasonForm, ReservationForm
from ..models import (
    LIVE_APPLICATION,
    Application,
    Base,
    BaseLevel,
    BaseStatus,
    ClassReservation,
    SchoolContract,
    Session,
)
from ..selectors import open_post_list, session_open_get, upcoming_session_q, viewer_school_id
from ..services.applications import session_label
from ..services.certification import school_contract_end, school_contract_sign
from ..services.reservations import class_reservation_create, class_reservation_name

PER_PAGE = 20


# ------------------------------------------------------------------------------
# Reads this module needs (candidates for bases.selectors)
# ------------------------------------------------------------------------------
def _contracts_of(school: School) -> QuerySet[SchoolContract]:
    return (
        SchoolContract.objects.filter(school=school)
        .select_related("base__district")
        .order_by("valid_until", "pk")
    )


def _contract_get_for_user(*, user: User, contract_id: int) -> SchoolContract:
    return get_object_or_404(
        SchoolContract.objects.filter(
            school__staff__user=user, school__staff__role=TeacherRole.SCHOOL_ADMIN
        ).select_related("base", "school"),
        pk=contract_id,
    )


def _contractable_bases() -> QuerySet[Base]:
    """School-level bases a school may contract: any whose certification was not revoked."""
    return (
        Base.objects.filter(level=BaseLevel.SCHOOL)
        .exclude(status=BaseStatus.REVOKED)
        .select_related("district")
        .order_by("district__sort_order", "code")
    )


def _bookable_sessions(*, school_id: int | None, district: District) -> QuerySet[Session]:
    """Sessions to come of open posts in a district, visible to the school, with free seats."""
    now = timezone.now()
    return (
        Session.objects.filter(
            upcoming_session_q(now=now),
            post__in=open_post_list(school_id=school_id, now=now),
            post__base__district=district,
            taken__lt=F("capacity"),
        )
        .select_related("post__base", "post__category")
        .order_by("starts_at", "id")
    )


def _reservation_list_for_user(*, user: User) -> QuerySet[ClassReservation]:
    return ClassReservation.objects.filter(
        school_class__in=school_class_list_for_user(user=user).values("pk")
    )


def _query_without_page(request: HttpRequest) -> str:
    """The list's filters as a query string, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ------------------------------------------------------------------------------
# School admin: contracted school-level bases
# ------------------------------------------------------------------------------
def _render_school(
    request: HttpRequest,
    school: School,
    *,
    contract_form: ContractForm | None = None,
    failed_end: tuple[int, ReasonForm] | None = None,
) -> HttpResponse:
    contracts = list(_contracts_of(school))
    for contract in contracts:
        contract.end_form = ReasonForm(prefix=f"end{contract.pk}")
        if failed_end and failed_end[0] == contract.pk:
            contract.end_form = failed_end[1]
    return render(
        request,
        "bases/school_bases.html",
        {
            "school": school,
            "contracts": contracts,
            "today": timezone.localdate(),
            "contract_form": contract_form or ContractForm(bases=_contractable_bases()),
        },
    )


@role_required(Role.SCHOOL_ADMIN)
def school_bases(request: HttpRequest, school_id: int) -> HttpResponse:
    """The school's contracted school-level bases, and the form to contract another one."""
    return _render_school(request, school_get_for_user(user=request.user, school_id=school_id))


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def school_contract_create(request: HttpRequest, school_id: int) -> HttpResponse:
    school = school_get_for_user(user=request.user, school_id=school_id)
    form = ContractForm(request.POST, bases=_contractable_bases())
    if form.is_valid():
        try:
            contract = school_contract_sign(
                base=form.cleaned_data["base"],
                school=school,
                valid_until=form.cleaned_data["valid_until"],
                signed_by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Contracted: %(base)s, valid until %(date)s.")
                % {"base": contract.base, "date": contract.valid_until.isoformat()},
            )
            return redirect("bases:school-bases", school_id=school.pk)
    return _render_school(request, school, contract_form=form)


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def school_contract_end_view(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = _contract_get_for_user(user=request.user, contract_id=contract_id)
    form = ReasonForm(request.POST, prefix=f"end{contract.pk}")
    if form.is_valid():
        try:
            school_contract_end(
                contract=contract, ended_by=request.user, reason=form.cleaned_data["reason"]
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Contract ended: %(base)s.") % {"base": contract.base})
            return redirect("bases:school-bases", school_id=contract.school_id)
    return _render_school(request, contract.school, failed_end=(contract.pk, form))


# ------------------------------------------------------------------------------
# Head teacher: book seats for the class, then name the students
# ------------------------------------------------------------------------------
@role_required(Role.HEAD_TEACHER)
def class_book_list(request: HttpRequest) -> HttpResponse:
    """Open sessions with free seats in one district, the school's own district first."""
    classes = list(school_class_list_for_user(user=request.user))
    districts = list(district_list())
    own = classes[0].school.district if classes else None
    wanted = request.GET.get("district") or (own.code if own else "")
    district = next((d for d in districts if d.code == wanted), own or districts[0])
    sessions = _bookable_sessions(school_id=viewer_school_id(user=request.user), district=district)
    page = Paginator(sessions, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bases/class_book_list.html",
        {
            "page": page,
            "query": _query_without_page(request),
            "district": district,
            "districts": districts,
            "classes": classes,
        },
    )


@role_required(Role.HEAD_TEACHER)
def class_book(request: HttpRequest, session_id: int) -> HttpResponse:
    """Hold seats on one session for a class, with the time by which students must be named."""
    session = session_open_get(
        session_id=session_id,
        school_id=viewer_school_id(user=request.user),
        now=timezone.now(),
    )
    form = ReservationForm(
        request.POST or None,
        classes=school_class_list_for_user(user=request.user),
        initial={"release_at": timezone.localtime(session.applications_close_at)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            reservation = class_reservation_create(
                session=session,
                school_class=form.cleaned_data["school_class"],
                seats=form.cleaned_data["seats"],
                release_at=form.cleaned_data["release_at"],
                reserved_by=request.user,
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(seats)s seats held on %(session)s. Name your students before the cut-off.")
                % {"seats": reservation.seats, "session": session_label(session)},
            )
            return redirect(reverse("bases:class-bookings") + f"#reservation-{reservation.pk}")
    return render(request, "bases/class_book.html", {"session": session, "form": form})


def _render_bookings(
    request: HttpRequest, *, failed: tuple[int, NameStudentForm] | None = None
) -> HttpResponse:
    reservations = (
        _reservation_list_for_user(user=request.user)
        .select_related("session__post__base", "school_class__school")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.filter(LIVE_APPLICATION)
                .select_related("student")
                .order_by("student__student_number"),
                to_attr="named",
            ),
            Prefetch(
                "school_class__students",
                queryset=Student.objects.order_by("student_number"),
                to_attr="roster",
            ),
        )
        .order_by("-session__starts_at", "-pk")
    )
    page = Paginator(reservations, PER_PAGE).get_page(request.GET.get("page"))
    for reservation in page:
        named = {application.student_id for application in reservation.named}
        reservation.unnamed = reservation.seats - len(named)
        reservation.name_form = NameStudentForm(
            prefix=f"r{reservation.pk}",
            students=[s for s in reservation.school_class.roster if s.pk not in named],
        )
        if failed and failed[0] == reservation.pk:
            reservation.name_form = failed[1]
    return render(request, "bases/class_bookings.html", {"page": page, "now": timezone.now()})


@role_required(Role.HEAD_TEACHER)
def class_bookings(request: HttpRequest) -> HttpResponse:
    """The class's bookings with the students named on them, and a form to name more."""
    return _render_bookings(request)


@require_POST
@role_required(Role.HEAD_TEACHER)
def class_booking_name(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = get_object_or_404(
        _reservation_list_for_user(user=request.user).select_related(
            "session__post", "school_class"
        ),
        pk=reservation_id,
    )
    students = {s.pk: s for s in reservation.school_class.students.all()}
    form = NameStudentForm(request.POST, prefix=f"r{reservation.pk}", students=students.values())
    if form.is_valid():
        student = students[form.cleaned_data["student"]]
        try:
            class_reservation_name(reservation=reservation, student=student, named_by=request.user)
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s is confirmed for %(session)s.")
                % {"name": student.name, "session": session_label(reservation.session)},
            )
            return redirect(reverse("bases:class-bookings") + f"#reservation-{reservation.pk}")
    return _render_bookings(request, failed=(reservation.pk, form))
