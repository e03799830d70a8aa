"""Publishing: a coordinator writes posts and sessions; the district admin reviews each post."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.models import Role, User
from portal.services import audit_log_record, notification_send
from portal.uploads import CleanImage
from students.models import dates_spanned
from students.policies import safety_policy_on

from ..errors import BaseError
from ..messages import POST_APPROVED, POST_RETURNED
from ..models import Base, BaseStatus, Coordinator, Post, PostStatus, Session
from .consent import post_consent_recheck

POST_FIELDS = (
    "title",
    "category",
    "description",
    "requirements",
    "place",
    "eligible_grades",
    "off_site",
    "overnight",
    "physical_risk",
    "safety_briefing",
)


@dataclass(frozen=True)
class SessionPlan:
    """What a coordinator decides for each session: seats, allocation and application window."""

    capacity: int
    allocation: str
    applications_open_at: datetime
    close_hours_before: int
    cancel_hours_before: int | None


def session_hours_problem(*, post: Post, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a session breaks the safety policy's hours for high-school students, or None.

    The policy is the one in force on the session's local start date. A session must start at
    or after its earliest start and end at or before its latest end, in Asia/Shanghai time; one
    that runs past midnight needs a post marked as an overnight stay (学农, camps).
    """
    zone = timezone.get_default_timezone()  # Shanghai, whatever zone the request activated
    start, end = timezone.localtime(starts_at, zone), timezone.localtime(ends_at, zone)
    policy = safety_policy_on(day=start.date())
    if start.time() < policy.session_earliest_start:
        return "starts_too_early"
    overnight = dates_spanned(starts_at, ends_at)[-1] > start.date()
    if overnight and not post.overnight:
        return "overnight_not_marked"
    at_midnight = end.time() == time(0, 0) and end.date() > start.date()
    if end.time() > policy.session_latest_end or (at_midnight and not post.overnight):
        return "ends_too_late"
    return None


def check_session_hours(*, post: Post, sessions) -> None:
    """Refuse, naming the rule, a session of `post` outside the safety policy's hours, unless
    a district admin granted the post an exception. `sessions`: (starts_at, ends_at) pairs."""
    if post.hours_exception_at is not None:
        return
    for starts_at, ends_at in sessions:
        problem = session_hours_problem(post=post, starts_at=starts_at, ends_at=ends_at)
        if problem is None:
            continue
        zone = timezone.get_default_timezone()
        start, end = timezone.localtime(starts_at, zone), timezone.localtime(ends_at, zone)
        policy = safety_policy_on(day=start.date())
        params = {
            "session": f"{date_format(start, 'Y-m-d H:i')}–{date_format(end, 'H:i')}"
            if end.date() == start.date()
            else f"{date_format(start, 'Y-m-d H:i')}–{date_format(end, 'Y-m-d H:i')}",
            "earliest": policy.session_earliest_start.strftime("%H:%M"),
            "latest": policy.session_latest_end.strftime("%H:%M"),
            "since": policy.effective_from.isoformat(),
        }
        if problem == "overnight_not_marked":
            message = _(
                "Session hours for minors: the session %(session)s runs past midnight, but the "
                "post is not marked as an overnight stay. Mark it, or shorten the session."
            )
        else:
            message = _(
                "Session hours for minors: the session %(session)s is outside %(earliest)s–"
                "%(latest)s, the hours the safety policy (from %(since)s) allows for high-school "
                "students. Move it, or ask the district admin for an exception."
            )
        raise BaseError(message, code=problem, params=params)


def _live_session_times(post: Post) -> list[tuple[datetime, datetime]]:
    """The sessions still to end and not called off: those a review lets students come to."""
    return list(
        post.sessions.filter(cancelled_at__isnull=True, ends_at__gt=timezone.now())
        .order_by("starts_at")
        .values_list("starts_at", "ends_at")
    )


def _check_hours_unless_draft(post: Post, sessions: list[tuple[datetime, datetime]]) -> None:
    """A session added to a post in review or published keeps to the hours at once; a draft's
    sessions are checked when it is sent for review."""
    current = Post.objects.get(pk=post.pk)
    if current.status != PostStatus.DRAFT:
        check_session_hours(post=current, sessions=sessions)


def _check_coordinator(*, user: User, base: Base) -> None:
    if not Coordinator.objects.filter(user=user, base=base).exists():
        raise BaseError(
            _("Only the base's coordinators may change its posts."), code="not_authorised"
        )


def _check_post_fields(fields: dict) -> None:
    unknown = sorted(set(fields) - set(POST_FIELDS))
    if unknown:
        raise TypeError(f"Unknown post fields: {', '.join(unknown)}")


def _set_picture(post: Post, *, image: CleanImage | None, remove_image: bool) -> None:
    """Store a new picture (already re-encoded by `portal.uploads.read_image`), or drop it.

    The old file is deleted once the change commits; a rolled-back change leaves it in place.
    """
    if image is None and not remove_image:
        return
    old = post.image.name if post.image else ""
    if image is not None:
        upload = image.as_file()
        post.image.save(upload.name, upload, save=False)
    else:
        post.image = ""
    if old:
        storage = post.image.storage
        transaction.on_commit(lambda: storage.delete(old))


@transaction.atomic
def post_create(*, base: Base, created_by: User, image: CleanImage | None = None, **fields) -> Post:
    """Create a draft post; it reaches students only after the district admin approves it."""
    _check_post_fields(fields)
    _check_coordinator(user=created_by, base=base)
    post = Post(base=base, created_by=created_by, status=PostStatus.DRAFT, **fields)
    _set_picture(post, image=image, remove_image=False)
    post.full_clean()
    post.save()
    audit_log_record(actor=created_by, action="post.create", target=post)
    return post


@transaction.atomic
def post_update(
    *,
    post: Post,
    updated_by: User,
    image: CleanImage | None = None,
    remove_image: bool = False,
    **fields,
) -> Post:
    """Edit a post; a published post goes back to review so students never see unreviewed text.

    A new picture (or its removal) is a change like any other: the post is reviewed again.
    """
    _check_post_fields(fields)
    _check_coordinator(user=updated_by, base=post.base)
    post = Post.objects.select_for_update().get(pk=post.pk)
    kinds_before = post.kinds
    for name, value in fields.items():
        setattr(post, name, value)
    _set_picture(post, image=image, remove_image=remove_image)
    if post.status == PostStatus.PUBLISHED:
        post.status = PostStatus.IN_REVIEW
    post.full_clean()
    post.save()
    audit_log_record(actor=updated_by, action="post.update", target=post)
    if post.kinds - kinds_before:
        # A new kind may need a guardian's consent that seated students do not have yet.
        post_consent_recheck(post=post, changed_by=updated_by)
    return post


@transaction.atomic
def post_submit(*, post: Post, submitted_by: User) -> Post:
    _check_coordinator(user=submitted_by, base=post.base)
    post = Post.objects.select_for_update(of=("self",)).select_related("base").get(pk=post.pk)
    if post.status != PostStatus.DRAFT:
        raise BaseError(_("Only a draft can be sent for review."), code="not_draft")
    base = post.base
    if (
        base.status != BaseStatus.CERTIFIED
        or base.certified_until is None
        or base.certified_until < timezone.localdate()
    ):
        raise BaseError(_("Only certified bases publish posts."), code="base_not_certified")
    if not post.sessions.exists():
        raise BaseError(
            _("Add at least one session before sending the post for review."), code="no_sessions"
        )
    check_session_hours(post=post, sessions=_live_session_times(post))
    post.status = PostStatus.IN_REVIEW
    post.save(update_fields=["status", "updated_at"])
    audit_log_record(actor=submitted_by, action="post.submit", target=post)
    return post


def _check_reviewer(*, user: User, post: Post) -> None:
    allowed = user.role == Role.CITY_ADMIN or (
        user.role == Role.DISTRICT_ADMIN and post.base.district.admins.filter(user=user).exists()
    )
    if not allowed:
        raise BaseError(
            _("Posts are reviewed by the district admin of the base's district."),
            code="not_authorised",
        )


def _review(*, post: Post, reviewer: User, status: str, note: str, action: str) -> Post:
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("base__district")
        .get(pk=post.pk)
    )
    _check_reviewer(user=reviewer, post=post)
    if post.status != PostStatus.IN_REVIEW:
        raise BaseError(_("This post is not waiting for review."), code="not_in_review")
    if status == PostStatus.PUBLISHED:
        check_session_hours(post=post, sessions=_live_session_times(post))
    post.status = status
    post.review_note = note
    post.reviewed_by = reviewer
    post.reviewed_at = timezone.now()
    post.save()
    audit_log_record(actor=reviewer, action=action, target=post, data={"reason": note})
    for coordinator in post.base.coordinators.select_related("user"):
        notification_send(
            user=coordinator.user,
            message=POST_APPROVED if status == PostStatus.PUBLISHED else POST_RETURNED,
            params={"title": post.title, "note": note},
            url=reverse("bases:post-manage", args=[post.pk]),
        )
    return post


@transaction.atomic
def post_hours_exception_grant(*, post: Post, granted_by: User, reason: str) -> Post:
    """Let a post's sessions lie outside the safety policy's hours (a night observation, an
    early tide), with the district admin's reason; audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise BaseError(_("Say why the exception is granted."), code="reason_required")
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("base__district")
        .get(pk=post.pk)
    )
    _check_reviewer(user=granted_by, post=post)
    post.hours_exception_reason = reason[
        : Post._meta.get_field("hours_exception_reason").max_length
    ]
    post.hours_exception_by = granted_by
    post.hours_exception_at = timezone.now()
    post.save()
    audit_log_record(
        actor=granted_by, action="post.hours_exception", target=post, data={"reason": reason}
    )
    return post


@transaction.atomic
def post_approve(*, post: Post, reviewer: User, note: str = "") -> Post:
    """Publish a post in review; it appears in the listing while its base is certified."""
    return _review(
        post=post, reviewer=reviewer, status=PostStatus.PUBLISHED, note=note, action="post.approve"
    )


@transaction.atomic
def post_return(*, post: Post, reviewer: User, reason: str) -> Post:
    """Send a post back to its coordinator as a draft, with the reason they will see."""
    if not reason.strip():
        raise BaseError(_("Say why the post is returned."), code="reason_required")
    return _review(
        post=post,
        reviewer=reviewer,
        status=PostStatus.DRAFT,
        note=reason.strip(),
        action="post.return",
    )


def _new_session(
    *, post: Post, starts_at: datetime, ends_at: datetime, plan: SessionPlan
) -> Session:
    session = Session(
        post=post,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=plan.capacity,
        allocation=plan.allocation,
        applications_open_at=plan.applications_open_at,
        applications_close_at=starts_at - timedelta(hours=plan.close_hours_before),
        cancel_cutoff_at=(
            starts_at - timedelta(hours=plan.cancel_hours_before)
            if plan.cancel_hours_before is not None
            else None
        ),
    )
    if session.starts_at >= session.ends_at:
        raise BaseError(_("A session must end after it starts."), code="ends_before_start")
    if session.starts_at <= timezone.now():
        raise BaseError(_("A new session must start in the future."), code="starts_in_past")
    if session.applications_close_at <= session.applications_open_at:
        raise BaseError(
            _("Applications for the session on %(day)s would close before they open."),
            code="window_order",
            params={"day": timezone.localtime(starts_at).date().isoformat()},
        )
    if plan.capacity < 1:
        raise BaseError(_("A session needs at least one seat."), code="no_capacity")
    if plan.close_hours_before < 0 or (plan.cancel_hours_before or 0) < 0:
        raise BaseError(
            _("Applications and cancellations must close before the session starts."),
            code="window_after_start",
        )
    return session


@transaction.atomic
def session_create(
    *, post: Post, starts_at: datetime, ends_at: datetime, plan: SessionPlan, created_by: User
) -> Session:
    """Add one session to a post."""
    _check_coordinator(user=created_by, base=post.base)
    session = _new_session(post=post, starts_at=starts_at, ends_at=ends_at, plan=plan)
    _check_hours_unless_draft(post, [(starts_at, ends_at)])
    session.save()
    audit_log_record(actor=created_by, action="session.create", target=session)
    return session


def series_dates(*, first_day: date, weekdays: list[int], weeks: int) -> list[date]:
    """Every chosen weekday (Monday = 0) from `first_day` for a number of weeks."""
    last_day = first_day + timedelta(weeks=weeks) - timedelta(days=1)
    day, days = first_day, []
    while day <= last_day:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


@transaction.atomic
def session_series_create(
    *,
    post: Post,
    first_day: date,
    weekdays: list[int],
    weeks: int,
    start_time: time,
    end_time: time,
    plan: SessionPlan,
    created_by: User,
) -> list[Session]:
    """Add a series, e.g. every Saturday 09:00-12:00 for 8 weeks; all of it or none of it."""
    _check_coordinator(user=created_by, base=post.base)
    # Wall-clock times are Shanghai times, whatever time zone the request activated.
    zone = timezone.get_default_timezone()
    sessions = []
    for day in series_dates(first_day=first_day, weekdays=weekdays, weeks=weeks):
        starts_at = timezone.make_aware(datetime.combine(day, start_time), zone)
        ends_at = timezone.make_aware(datetime.combine(day, end_time), zone)
        sessions.append(_new_session(post=post, starts_at=starts_at, ends_at=ends_at, plan=plan))
    if not sessions:
        raise BaseError(
            _("The series has no dates: choose a weekday inside the weeks given."),
            code="empty_series",
        )
    _check_hours_unless_draft(post, [(s.starts_at, s.ends_at) for s in sessions])
    Session.objects.bulk_create(sessions)
    audit_log_record(
        actor=created_by,
        action="session.series_create",
        target=post,
        data={"count": len(sessions), "first_day": first_day.isoformat()},
    )
    return sessions


@transaction.atomic
def session_delete(*, session: Session, deleted_by: User) -> None:
    """Remove a session that nobody has applied for yet."""
    _check_coordinator(user=deleted_by, base=session.post.base)
    # The lock makes an application arriving meanwhile wait, and then find no session: without
    # it the delete could cascade over an application committed after the check.
    session = (
        Session.objects.select_for_update(of=("self",)).select_related("post").get(pk=session.pk)
    )
    if session.applications.exists() or session.reservations.exists():
        raise BaseError(
            _("Students have applied for this session; it cannot be removed."),
            code="has_applications",
        )
    audit_log_record(
        actor=deleted_by,
        action="session.delete",
        target=session.post,
        data={"starts_at": session.starts_at.isoformat()},
    )
    session.delete()
