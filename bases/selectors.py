"""Reads of bases, posts, sessions and applications, each scoped to the user asking."""

from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Least
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from districts.models import District
from districts.selectors import district_list
from portal.models import Role, User
from students.models import Student, TeacherAssignment, TeacherRole
from students.selectors import attendance_deadline_hours, student_of_user, student_scope_q

from .models import (
    ON_SESSION_STATUSES,
    Application,
    ApplicationStatus,
    Base,
    BaseLevel,
    BaseStatus,
    Coordinator,
    Post,
    PostStatus,
    SchoolContract,
    Session,
)

NOTHING = Q(pk__in=[])


def base_scope_q(*, user: User, prefix: str = "") -> Q:
    """Bases a user manages or oversees, as a filter on `<prefix>` pointing at Base."""
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.DISTRICT_ADMIN:
        return Q(**{f"{prefix}district__admins__user": user})
    if user.role == Role.COORDINATOR:
        return Q(**{f"{prefix}pk__in": Coordinator.objects.filter(user=user).values("base")})
    if user.role == Role.SCHOOL_ADMIN:
        schools = TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN)
        return Q(**{f"{prefix}contracts__school__in": schools.values("school")})
    return NOTHING


def base_list_for_user(*, user: User) -> QuerySet[Base]:
    return (
        Base.objects.filter(base_scope_q(user=user))
        .select_related("district")
        .distinct()
        .order_by("district__sort_order", "code")
    )


def base_get_for_user(*, user: User, base_id: int) -> Base:
    return get_object_or_404(base_list_for_user(user=user), pk=base_id)


def post_list_for_user(*, user: User) -> QuerySet[Post]:
    bases = Base.objects.filter(base_scope_q(user=user)).values("pk")
    return (
        Post.objects.filter(base__in=bases)
        .select_related("base__district", "category")
        .order_by("base__code", "title")
    )


def post_get_for_user(*, user: User, post_id: int) -> Post:
    return get_object_or_404(post_list_for_user(user=user), pk=post_id)


def session_list_for_user(*, user: User) -> QuerySet[Session]:
    bases = Base.objects.filter(base_scope_q(user=user)).values("pk")
    return (
        Session.objects.filter(post__base__in=bases)
        .select_related("post__base__district", "post__category")
        .order_by("starts_at", "id")
    )


def session_get_for_user(*, user: User, session_id: int) -> Session:
    return get_object_or_404(session_list_for_user(user=user), pk=session_id)


def application_scope_q(*, user: User) -> Q:
    """Applications a user may see: their own, their students', or their base's applicants."""
    if user.role == Role.COORDINATOR:
        bases = Coordinator.objects.filter(user=user).values("base")
        return Q(session__post__base__in=bases)
    if user.role == Role.DISTRICT_ADMIN:
        # Their schools' students anywhere, and anyone at their district's bases.
        return student_scope_q(user=user, prefix="student__") | base_scope_q(
            user=user, prefix="session__post__base__"
        )
    return student_scope_q(user=user, prefix="student__")


def application_list_for_user(*, user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(application_scope_q(user=user))
        .select_related("student__school_class__school", "session__post__base")
        .order_by("-created_at", "-id")
    )


def application_get_for_user(*, user: User, application_id: int) -> Application:
    return get_object_or_404(application_list_for_user(user=user), pk=application_id)


def bases_of_coordinator(*, user: User) -> QuerySet[Base]:
    return Base.objects.filter(coordinators__user=user).select_related("district").order_by("code")


# ------------------------------------------------------------------------------
# The public listing
# ------------------------------------------------------------------------------
def listable_base_q(*, today: date, prefix: str = "") -> Q:
    """A base whose posts students may see: certified and not expired."""
    return Q(**{f"{prefix}status": BaseStatus.CERTIFIED, f"{prefix}certified_until__gte": today})


def school_visibility_q(*, school_id: int | None, today: date, prefix: str = "") -> Q:
    """School-level bases are visible only to the schools holding a valid contract with them."""
    other_levels = ~Q(**{f"{prefix}level": BaseLevel.SCHOOL})
    if school_id is None:
        return other_levels
    contracted = SchoolContract.objects.filter(school_id=school_id, valid_until__gte=today).values(
        "base"
    )
    return other_levels | Q(**{f"{prefix}pk__in": contracted})


def contracted_district_codes(*, school_id: int, today: date) -> frozenset[str]:
    """The districts where a school holds a valid contract with a school-level base: elsewhere
    its viewers see what everyone sees (`school_visibility_q`)."""
    return frozenset(
        SchoolContract.objects.filter(
            school_id=school_id, valid_until__gte=today, base__level=BaseLevel.SCHOOL
        ).values_list("base__district__code", flat=True)
    )


def viewer_school_id(*, user: User) -> int | None:
    """The school whose contracted bases a viewer may see (students and their teachers)."""
    if not user.is_authenticated:
        return None
    if user.role == Role.STUDENT:
        return (
            Student.objects.filter(user=user).values_list("school_class__school_id", flat=True)
        ).first()
    if user.role in (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN):
        return (
            TeacherAssignment.objects.filter(user=user).values_list("school_id", flat=True).first()
        )
    return None


def upcoming_session_q(*, now: datetime, prefix: str = "") -> Q:
    """Sessions still to come whose application window has not closed, not cancelled."""
    return Q(
        **{
            f"{prefix}starts_at__gt": now,
            f"{prefix}applications_close_at__gt": now,
            f"{prefix}cancelled_at": None,
        }
    )


def open_post_list(*, school_id: int | None, now: datetime) -> QuerySet[Post]:
    """Published posts of listable bases, visible to the viewer's school, with a session to come."""
    today = timezone.localdate(now)
    return Post.objects.filter(
        listable_base_q(today=today, prefix="base__"),
        school_visibility_q(school_id=school_id, today=today, prefix="base__"),
        status=PostStatus.PUBLISHED,
    )


def post_listing(
    *,
    district: District | None,
    school_id: int | None,
    now: datetime,
    session_q: Q | None = None,
) -> QuerySet[Post]:
    """One district's open posts (every district's with None), with the next date and seats
    left over matching sessions.

    The session conditions filter the one join that the figures are then computed over (a
    filter before an annotation constrains it), so the database reads each post's matching
    sessions through the (post, starts_at) index and never its past ones. Conditions in
    `session_q` must be positive: a negated condition on a multi-valued relation would become
    "has no such session" instead.
    """
    matching = _prefix_q(upcoming_session_q(now=now) & (session_q or Q()), "sessions__")
    return (
        open_post_list(school_id=school_id, now=now)
        .filter(Q(base__district=district) if district is not None else Q())
        .filter(matching)
        .annotate(
            next_starts_at=Min("sessions__starts_at"),
            seats_left=Sum(F("sessions__capacity") - F("sessions__taken")),
            session_count=Count("sessions"),
        )
        .select_related("base__district", "category")
        .order_by("next_starts_at", "pk")
    )


def post_listing_changes_at(
    *, district: District, school_id: int | None, now: datetime, session_q: Q | None = None
) -> datetime | None:
    """The first moment `post_listing` would give another answer by the clock alone: when the
    first of its sessions starts or closes for applications (None: it has none)."""
    posts = open_post_list(school_id=school_id, now=now).filter(base__district=district)
    return Session.objects.filter(
        upcoming_session_q(now=now), session_q or Q(), post__in=posts.values("pk")
    ).aggregate(at=Min(Least("starts_at", "applications_close_at")))["at"]


def _prefix_q(q: Q, prefix: str) -> Q:
    """The same filter, on a related model reached through `prefix`."""
    copy = Q()
    copy.connector, copy.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            copy.children.append(_prefix_q(child, prefix))
        else:
            key, value = child
            copy.children.append((f"{prefix}{key}", value))
    return copy


def open_post_counts_by_district(*, school_id: int | None, now: datetime) -> dict[int, int]:
    """{district id: number of open posts} in one query."""
    sessions = Session.objects.filter(upcoming_session_q(now=now), post=OuterRef("pk"))
    rows = (
        open_post_list(school_id=school_id, now=now)
        .filter(Exists(sessions))
        .values("base__district")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["base__district"]: row["count"] for row in rows}


def post_get_open(*, post_id: int, school_id: int | None, now: datetime) -> Post:
    """A post as the public sees it: 404 unless published, listable and visible to the viewer."""
    return get_object_or_404(
        open_post_list(school_id=school_id, now=now).select_related("base__district", "category"),
        pk=post_id,
    )


def session_list_for_post(*, post: Post, now: datetime) -> QuerySet[Session]:
    return post.sessions.filter(starts_at__gt=now, cancelled_at=None).order_by("starts_at", "id")


def application_list_for_student(*, student: Student) -> QuerySet[Application]:
    return (
        Application.objects.filter(student=student)
        .select_related("session__post__base__district", "reservation")
        .order_by("-session__starts_at", "-id")
    )


def applicant_list_for_session(*, session: Session) -> QuerySet[Application]:
    return session.applications.select_related("student__school_class__school").order_by(
        F("draw_position").asc(nulls_last=True), "created_at", "id"
    )


def session_open_get(*, session_id: int, school_id: int | None, now: datetime) -> Session:
    """A session of an open post as the viewer may see it; 404 otherwise."""
    posts = open_post_list(school_id=school_id, now=now)
    return get_object_or_404(
        Session.objects.filter(post__in=posts).select_related("post__base"), pk=session_id
    )


def lottery_view_get(*, user: User, session_id: int) -> tuple[Session, list[Application]]:
    """A lottery session with its draw, for its coordinators and its applicants only."""
    if user.role == Role.COORDINATOR:
        session = session_get_for_user(user=user, session_id=session_id)
    else:
        session = get_object_or_404(
            Session.objects.select_related("post__base")
            .filter(applications__student__user=user)
            .distinct(),
            pk=session_id,
        )
    if session.allocation != "lottery":
        raise Http404
    applications = list(
        session.applications.filter(draw_position__isnull=False)
        .select_related("student")
        .order_by("draw_position")
    )
    return session, applications


WAITLIST_ORDER = (F("draw_position").asc(nulls_last=True), "created_at", "id")


def waitlist_positions(*, applications: list[Application]) -> dict[int, int]:
    """{application id: place in line} for the waitlisted ones among them, in one query."""
    session_ids = {a.session_id for a in applications if a.status == ApplicationStatus.WAITLISTED}
    if not session_ids:
        return {}
    positions, counters = {}, {}
    waiting = (
        Application.objects.filter(session_id__in=session_ids, status=ApplicationStatus.WAITLISTED)
        .order_by("session_id", *WAITLIST_ORDER)
        .values_list("id", "session_id")
    )
    for application_id, session_id in waiting:
        counters[session_id] = counters.get(session_id, 0) + 1
        positions[application_id] = counters[session_id]
    wanted = {a.pk for a in applications}
    return {pk: place for pk, place in positions.items() if pk in wanted}


def sessions_attendance_overdue(*, now: datetime) -> QuerySet[Session]:
    """Sessions that ended longer ago than the policy allows with attendance still not closed."""
    deadline = now - timedelta(hours=attendance_deadline_hours())
    confirmed = Application.objects.filter(
        session=OuterRef("pk"),
        status__in=ON_SESSION_STATUSES,
    )
    return (
        Session.objects.filter(ends_at__lt=deadline, attendance_closed_at__isnull=True)
        .filter(Exists(confirmed))
        .select_related("post__base__district")
        .order_by("ends_at", "id")
    )


def districts_with_counts(*, user: User) -> list[District]:
    """All 16 districts with their open-post counts, the viewer's own district first."""
    counts = open_post_counts_by_district(school_id=viewer_school_id(user=user), now=timezone.now())
    student = student_of_user(user=user) if user.is_authenticated else None
    own = student.school_class.school.district_id if student else None
    districts = list(district_list())
    for district in districts:
        district.open_posts = counts.get(district.pk, 0)
        district.is_own = district.pk == own
    return sorted(districts, key=lambda d: (not d.is_own, d.sort_order))
