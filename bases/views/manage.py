"""A coordinator's own posts: write them, plan their sessions, send them for review, see applicants.

Every object is fetched through the selectors scoped to the coordinator's bases, so another
base's post, session or applicant list answers 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.services import audit_log_record
from portal.spreadsheets import write_xlsx

from ..errors import BaseError
from ..forms import (
    PostForm,
    SessionEditForm,
    SessionForm,
    SessionSeriesForm,
    StudentReasonForm,
)
from ..models import (
    LIVE_STATUSES,
    Application,
    ApplicationStatus,
    ClassReservation,
    Post,
    Session,
)
from ..selectors import (
    applicant_list_for_session,
    base_get_for_user,
    bases_of_coordinator,
    post_get_for_user,
    post_list_for_user,
    session_get_for_user,
    session_list_for_user,
)
from ..services.applications import session_label
from ..services.publishing import (
    post_create,
    post_submit,
    post_update,
    session_create,
    session_delete,
    session_series_create,
)
from ..services.season import (
    application_remove,
    post_close,
    post_close_affected,
    session_cancel,
    session_update,
)

POSTS_PER_PAGE = 25
DEAD = [ApplicationStatus.CANCELLED, ApplicationStatus.REJECTED, ApplicationStatus.REMOVED]


def _manage_url(post: Post, anchor: str = "") -> str:
    return reverse("bases:post-manage", args=[post.pk]) + (f"#{anchor}" if anchor else "")


# ------------------------------------------------------------------------------
# Posts
# ------------------------------------------------------------------------------
@role_required(Role.COORDINATOR)
def my_posts(request: HttpRequest) -> HttpResponse:
    """Every post of the coordinator's bases with its review state, newest change first."""
    now = timezone.now()
    posts = (
        post_list_for_user(user=request.user)
        .annotate(
            session_count=Count("sessions"),
            next_starts_at=Min("sessions__starts_at", filter=Q(sessions__starts_at__gt=now)),
        )
        .order_by("-updated_at", "-pk")
    )
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bases/manage_posts.html",
        {"page": page, "bases": bases_of_coordinator(user=request.user)},
    )


@role_required(Role.COORDINATOR)
def post_create_view(request: HttpRequest, base_id: int) -> HttpResponse:
    base = base_get_for_user(user=request.user, base_id=base_id)
    form = PostForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            post = post_create(
                base=base,
                created_by=request.user,
                image=form.picture()["image"],
                **form.post_fields(),
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Draft saved: %(title)s. Now add its sessions, then send it for review.")
                % {"title": post.title},
            )
            return redirect(_manage_url(post, "sessions"))
    return render(request, "bases/manage_post_form.html", {"form": form, "base": base})


@role_required(Role.COORDINATOR)
def post_edit_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = PostForm(request.POST or None, request.FILES or None, post=post)
    if request.method == "POST" and form.is_valid():
        try:
            post = post_update(
                post=post, updated_by=request.user, **form.picture(), **form.post_fields()
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved: %(title)s.") % {"title": post.title})
            return redirect(_manage_url(post))
    return render(
        request, "bases/manage_post_form.html", {"form": form, "base": post.base, "post": post}
    )


def _sessions_of(post: Post):
    """The post's sessions with what the manage page shows, in one query."""
    applications = Application.objects.filter(session=OuterRef("pk"))
    reservations = ClassReservation.objects.filter(session=OuterRef("pk"))
    return (
        Session.objects.filter(post=post)
        .annotate(
            applicant_count=Count("applications", filter=~Q(applications__status__in=DEAD)),
            has_applications=Exists(applications),
            has_reservations=Exists(reservations),
        )
        .order_by("starts_at", "id")
    )


def _render_manage(
    request: HttpRequest,
    post: Post,
    *,
    session_form: SessionForm | None = None,
    series_form: SessionSeriesForm | None = None,
) -> HttpResponse:
    return render(
        request,
        "bases/manage_post.html",
        {
            "post": post,
            "sessions": _sessions_of(post),
            "session_form": session_form or SessionForm(prefix="one"),
            "series_form": series_form or SessionSeriesForm(prefix="series"),
            # Open the form the user was filling in when it comes back with an error.
            "open_form": "one" if session_form else "series" if series_form else "",
        },
    )


@role_required(Role.COORDINATOR)
def post_manage(request: HttpRequest, post_id: int) -> HttpResponse:
    """The post's page for its coordinators: state, sessions, and the forms to add more."""
    return _render_manage(request, post_get_for_user(user=request.user, post_id=post_id))


@require_POST
@role_required(Role.COORDINATOR)
def post_submit_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    try:
        post_submit(post=post, submitted_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("Sent for review: the district admin will approve it or return it with a reason."),
        )
    return redirect(_manage_url(post))


@role_required(Role.COORDINATOR)
def post_close_view(request: HttpRequest, post_id: int) -> HttpResponse:
    """Close a post; first says how many students its future sessions would leave, if any."""
    post = post_get_for_user(user=request.user, post_id=post_id)
    sessions, students = post_close_affected(post)
    form = StudentReasonForm(request.POST or None)
    if request.method == "POST" and (not students or form.is_valid()):
        try:
            post_close(
                post=post,
                closed_by=request.user,
                cancel_sessions=bool(students),
                reason=form.cleaned_data.get("reason", "") if students else "",
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Closed: %(title)s no longer appears in the listing.") % {"title": post.title},
            )
            return redirect(_manage_url(post))
    return render(
        request,
        "bases/manage_post_close.html",
        {"post": post, "sessions": sessions, "students": students, "form": form},
    )


# ------------------------------------------------------------------------------
# Sessions
# ------------------------------------------------------------------------------
@require_POST
@role_required(Role.COORDINATOR)
def session_create_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = SessionForm(request.POST, prefix="one")
    if form.is_valid():
        try:
            session = session_create(
                post=post,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                plan=form.plan(),
                created_by=request.user,
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Session added: %(session)s.") % {"session": session_label(session)}
            )
            return redirect(_manage_url(post, "sessions"))
    return _render_manage(request, post, session_form=form)


@require_POST
@role_required(Role.COORDINATOR)
def session_series_create_view(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_user(user=request.user, post_id=post_id)
    form = SessionSeriesForm(request.POST, prefix="series")
    if form.is_valid():
        data = form.cleaned_data
        try:
            sessions = session_series_create(
                post=post,
                first_day=data["first_day"],
                weekdays=data["weekdays"],
                weeks=data["weeks"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                plan=form.plan(),
                created_by=request.user,
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)s session added, %(first)s to %(last)s.",
                    "%(count)s sessions added, %(first)s to %(last)s.",
                    len(sessions),
                )
                % {
                    "count": len(sessions),
                    "first": timezone.localtime(sessions[0].starts_at).date().isoformat(),
                    "last": timezone.localtime(sessions[-1].starts_at).date().isoformat(),
                },
            )
            return redirect(_manage_url(post, "sessions"))
    return _render_manage(request, post, series_form=form)


@require_POST
@role_required(Role.COORDINATOR)
def session_delete_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    label = session_label(session)
    try:
        session_delete(session=session, deleted_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Session removed: %(session)s.") % {"session": label})
    return redirect(_manage_url(session.post, "sessions"))


@role_required(Role.COORDINATOR)
def session_edit_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """Move a session or change its seats; applicants are told of a new time."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    form = SessionEditForm.for_session(session, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = session_update(
                session=session,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                capacity=data["capacity"],
                updated_by=request.user,
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Session changed: %(session)s.") % {"session": session_label(session)}
            )
            return redirect(_manage_url(session.post, f"session-{session.pk}"))
    return render(request, "bases/manage_session_edit.html", {"session": session, "form": form})


@role_required(Role.COORDINATOR)
def session_cancel_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """Call a session off with a reason, after a page that says whom it affects."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    form = StudentReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session_cancel(
                session=session, cancelled_by=request.user, reason=form.cleaned_data["reason"]
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Session cancelled: %(session)s. Its applicants have been told.")
                % {"session": session_label(session)},
            )
            return redirect(_manage_url(session.post, "sessions"))
    applicants = session.applications.filter(status__in=LIVE_STATUSES).count()
    return render(
        request,
        "bases/manage_session_cancel.html",
        {"session": session, "form": form, "applicants": applicants},
    )


# ------------------------------------------------------------------------------
# Applicants
# ------------------------------------------------------------------------------
@role_required(Role.COORDINATOR)
def application_remove_view(request: HttpRequest, application_id: int) -> HttpResponse:
    """Take one student off a session with a reason the student is told."""
    application = get_object_or_404(
        Application.objects.select_related("student__school_class", "session__post"),
        pk=application_id,
        session__in=session_list_for_user(user=request.user),
    )
    session = application.session
    form = StudentReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application_remove(
                application=application,
                removed_by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s was removed from the session and told why.")
                % {"name": application.student.name},
            )
            return redirect("bases:session-applicants", session_id=session.pk)
    return render(
        request,
        "bases/manage_application_remove.html",
        {"application": application, "session": session, "form": form},
    )


@role_required(Role.COORDINATOR)
def session_applicants(request: HttpRequest, session_id: int) -> HttpResponse:
    """Who applied: name, school, class and a masked student number only (design §8)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    return render(
        request,
        "bases/manage_applicants.html",
        {
            "session": session,
            "applications": applicant_list_for_session(session=session),
            "live_statuses": LIVE_STATUSES,
            "now": timezone.now(),
        },
    )


def _applicant_rows(session: Session):
    for application in applicant_list_for_session(session=session).iterator(chunk_size=500):
        student = application.student
        yield [
            student.name,
            student.school_class.school.display_name,
            student.school_class.name,
            student.masked_student_number,
            application.get_status_display(),
            application.created_at,
            application.draw_position,
            _("Yes") if application.reservation_id else "",
        ]


@role_required(Role.COORDINATOR)
def session_applicants_xlsx(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    day = timezone.localtime(session.starts_at).date().isoformat()
    header = [
        _("Name"),
        _("School"),
        _("Class"),
        _("Student number"),
        _("Status"),
        _("Applied at"),
        _("Draw position"),
        _("Class booking"),
    ]
    content = write_xlsx(_applicant_rows(session), header, _("Applicants %(date)s") % {"date": day})
    audit_log_record(
        actor=request.user, action="session.applicants_export", target=session, data={}
    )
    return attachment_response(
        content, filename=f"applicants-{session.pk}-{day}.xlsx", content_type=XLSX_CONTENT_TYPE
    )
