"""Applying for sessions, cancelling, and promotion from the waiting list.

Seats are counted on `Session.taken` (confirmed applications plus seats held by class
reservations) and guarded by the check constraint `taken <= capacity`. Every write that changes
`taken` locks the student row first and then the session row, always in that order, so concurrent
applications neither over-book nor deadlock. Only those rows are locked (`of=("self",)`): a lock
on the joined class or post rows would queue every classmate, or every applicant of the post,
behind one another.

Applying reads the student (locked, so one student's applications run one at a time: no two
clashing confirmed seats, no second live application) and then the session with its post and
base, whether the student already applied for it and their first clashing application, in one
query. A first-come application then takes its seat, writes itself and its audit entry in one
statement (`_application_enter`; on PostgreSQL a `WITH seat AS (UPDATE … taken = taken + 1 WHERE
taken < capacity) INSERT …`), which locks the session row only from that statement to the
commit. When the session is full, the student joins the waiting list without queueing behind
the other applicants: the session row is then read again under a share lock (`FOR KEY SHARE`),
which waits for a cancellation in progress and makes a later one wait for this commit, so a seat
freed meanwhile is taken and a cancellation committing afterwards sees this student on the list.
Lottery applications lock the session before checking its window, so a draw never misses one.

The reads are compiled to SQL once per process (`portal.db.CompiledGet`, `CompiledSQL`) and,
on PostgreSQL, every statement of an apply binds its parameters on the server
(`portal.db.prepared_statements`), so each is prepared and planned once per connection.
"""

import json
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.changes import rows_changed
from portal.db import CompiledGet, CompiledSQL, prepared_statements
from portal.models import AuditLog, User
from portal.services import audit_log_record
from portal.text import join_list
from students.guardians import has_guardians, student_notification_send
from students.models import SchoolClass, Student

from ..errors import BaseError
from ..messages import (
    APPLICATION_AWAITING_CONSENT,
    APPLICATION_CONFIRMED,
    APPLICATION_PENDING,
    APPLICATION_PROMOTED,
    APPLICATION_WAITLISTED,
    APPLICATION_WAITLISTED_HELD,
)
from ..models import (
    LIVE_APPLICATION,
    LIVE_STATUSES,
    Allocation,
    Application,
    ApplicationStatus,
    BaseLevel,
    BaseStatus,
    BriefingAcknowledgement,
    PostStatus,
    SchoolContract,
    Session,
)
from ..reliability import Hold, last_no_show, student_hold
from ..selectors import WAITLIST_ORDER
from .consent import consent_missing, tell_school_consent_awaited

# Switched off only by the concurrency canary test, to prove the race is visible without it.
LOCKING = True


def _lock_student(student: Student) -> Student:
    # The user comes along for the audit entry; `of` keeps the lock on the student row alone.
    queryset = Student.objects.select_related("school_class", "user")
    if LOCKING:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.get(pk=student.pk)


def _applicant(*, lock: bool):
    def build(student: int):
        queryset = Student.objects.select_related("school_class", "user").annotate(
            last_no_show_at=last_no_show(), any_guardians=has_guardians()
        )
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.filter(pk=student)

    return CompiledGet(build)


_APPLICANT = {lock: _applicant(lock=lock) for lock in (True, False)}


def _lock_applicant(student: Student) -> Student:
    """The applying student, locked as `_lock_student`, with the start of the session they last
    missed (`last_no_show_at`, for the reliability hold) and whether they have guardians to tell
    (`any_guardians`) read in the same query (compiled once: `_APPLICANT`)."""
    return _APPLICANT[LOCKING].get(student=student.pk)


def _lock_session(session: Session) -> Session:
    queryset = Session.objects.select_related("post__base")
    if LOCKING:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.get(pk=session.pk)


def session_label(session: Session) -> str:
    start = timezone.localtime(session.starts_at)
    end = timezone.localtime(session.ends_at)
    return f"{session.post.title} {date_format(start, 'Y-m-d H:i')}–{end:%H:%M}"


def check_post_open(*, session: Session, today: date) -> None:
    """Refuse with `not_open` unless the post is published and its base certified on `today`,
    and with `cancelled` a session the base called off."""
    if session.cancelled_at is not None:
        raise BaseError(_("The base cancelled this session."), code="cancelled")
    post = session.post
    base = post.base
    if (
        base.status != BaseStatus.CERTIFIED
        or base.certified_until is None
        or base.certified_until < today
        or post.status != PostStatus.PUBLISHED
    ):
        raise BaseError(_("This post is not open for applications."), code="not_open")


def check_class_eligible(*, session: Session, school_class: SchoolClass, today: date) -> None:
    """Refuse a class whose grade the post does not take, or whose school has no contract."""
    post = session.post
    base = post.base
    grade = school_class.grade_on(timezone.localdate(session.starts_at))
    if str(grade) not in post.eligible_grades:
        raise BaseError(
            _("This post is for grade(s) %(grades)s; you will be in grade %(grade)s."),
            code="not_eligible_grade",
            params={"grades": join_list(post.eligible_grades), "grade": grade},
        )
    if (
        base.level == BaseLevel.SCHOOL
        and not SchoolContract.objects.filter(
            base=base, school_id=school_class.school_id, valid_until__gte=today
        ).exists()
    ):
        raise BaseError(
            _("This base is contracted by other schools; it is not open to your school."),
            code="not_eligible_school",
        )


def check_open_for(*, session: Session, student: Student, now: datetime) -> None:
    """Raise the first rule that keeps this student from applying to this session now."""
    today = timezone.localdate(now)
    check_post_open(session=session, today=today)
    if now < session.applications_open_at:
        raise BaseError(
            _("Applications open on %(when)s."),
            code="window_not_open",
            params={
                "when": date_format(timezone.localtime(session.applications_open_at), "Y-m-d H:i")
            },
        )
    if now >= session.applications_close_at or now >= session.starts_at:
        raise BaseError(_("Applications for this session have closed."), code="window_closed")
    check_class_eligible(session=session, school_class=student.school_class, today=today)


def _clashing(*, student_id: int, starts_at, ends_at):
    """The student's confirmed or pending applications whose session overlaps [starts_at,
    ends_at) (values, or `OuterRef`s to a session's)."""
    return Application.objects.filter(
        student_id=student_id,
        status__in=[ApplicationStatus.CONFIRMED, ApplicationStatus.PENDING],
        session__starts_at__lt=ends_at,
        session__ends_at__gt=starts_at,
    )


def _clashing_application(*, session: Session, student_id: int) -> Application | None:
    """The student's confirmed or pending application whose session overlaps this one."""
    return (
        _clashing(student_id=student_id, starts_at=session.starts_at, ends_at=session.ends_at)
        .exclude(session=session)
        .select_related("session__post")
        .first()
    )


def _applicant_facts(student_id: int) -> dict:
    """Annotations for a `Session` queryset: `applied_status`, the status of the student's live
    application for the session (None if none), and `clash_id`, their first confirmed or pending
    application for another session overlapping it (None if none)."""
    return {
        "applied_status": Subquery(
            Application.objects.filter(
                LIVE_APPLICATION, session=OuterRef("pk"), student_id=student_id
            ).values("status")[:1]
        ),
        "clash_id": Subquery(
            _clashing(
                student_id=student_id, starts_at=OuterRef("starts_at"), ends_at=OuterRef("ends_at")
            )
            .exclude(session=OuterRef("pk"))
            .values("pk")[:1]
        ),
    }


def _session_for_applicant(session: Session, student: Student, *, lock: bool = False) -> Session:
    """The session with its post and base and the student's facts on it (`_applicant_facts`),
    in one query; read after the student's lock, so an application of theirs committed
    meanwhile is seen. `lock`: the session row too (a lottery, whose draw must not miss it)."""
    session = _SESSION_FOR_APPLICANT[lock and LOCKING].get(session=session.pk, student=student.pk)
    session.facts_student_id = student.pk
    return session


def _session_with_facts(*, lock: bool):
    def build(session: int, student: int):
        queryset = Session.objects.select_related("post__base").annotate(
            **_applicant_facts(student)
        )
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.filter(pk=session)

    return CompiledGet(build)


_SESSION_FOR_APPLICANT = {lock: _session_with_facts(lock=lock) for lock in (True, False)}


def _check_not_applied_nor_clashing(
    *, session: Session, student: Student, on_behalf: bool = False
) -> None:
    """Refuse a student who already applied for this session, then one whose confirmed or
    pending application overlaps it. The facts come with a session read by
    `_session_for_applicant` for this student, else from one query.

    `on_behalf`: a teacher acts for the student, so the message names the student."""
    if getattr(session, "facts_student_id", None) == student.pk:
        applied_status, clash_id = session.applied_status, session.clash_id
    else:
        applied_status, clash_id = (
            Session.objects.filter(pk=session.pk)
            .annotate(**_applicant_facts(student.pk))
            .values_list("applied_status", "clash_id")
            .get()
        )
    if applied_status is not None:
        message = (
            _("%(name)s has already applied for this session (%(status)s).")
            if on_behalf
            else _("You have already applied for this session (%(status)s).")
        )
        raise BaseError(
            message,
            code="already_applied",
            params={"status": str(ApplicationStatus(applied_status).label), "name": student.name},
        )
    if clash_id is not None:
        clash = Application.objects.select_related("session__post").get(pk=clash_id)
        message = (
            _(
                "This session clashes in time with %(other)s, which %(name)s has already "
                "applied for."
            )
            if on_behalf
            else _(
                "This session clashes in time with %(other)s, which you have already applied for."
            )
        )
        raise BaseError(
            message,
            code="time_clash",
            params={"other": session_label(clash.session), "name": student.name},
        )


def check_can_apply(*, session: Session, student: Student, now: datetime) -> None:
    """Raise the first rule that keeps this student from applying now, in the order applying
    checks them: the post open, the window, grade and school, not applied yet, no clash. A full
    session is not among them: the student may still join its waiting list."""
    check_open_for(session=session, student=student, now=now)
    _check_not_applied_nor_clashing(session=session, student=student)


def application_refusal(*, session: Session, student: Student, now: datetime) -> BaseError | None:
    """Why this student could not apply for this session now, or None: what a page shows in
    place of the button, from the same rules applying enforces."""
    try:
        check_can_apply(session=session, student=student, now=now)
    except BaseError as error:
        return error
    return None


def _take_seat(session: Session) -> bool:
    """Take one seat if one is free; the session row stays locked until the commit either way."""
    if not LOCKING:  # the canary: read, then write, as if there were no locks and no guard
        if session.taken >= session.capacity:
            return False
        return bool(Session.objects.filter(pk=session.pk).update(taken=F("taken") + 1))
    seats = Session.objects.filter(pk=session.pk, taken__lt=F("capacity"))
    if seats.update(taken=F("taken") + 1):
        return True
    # Full when the update looked: lock the row, then look again (a cancellation may have freed
    # a seat since), so the waiting list is joined under the lock a cancellation also takes.
    session = _lock_session(session)
    if session.taken < session.capacity:
        return bool(seats.update(taken=F("taken") + 1))
    return False


def _check_briefing(*, session: Session, briefing_digest: str) -> None:
    """A post with a safety briefing takes applications only from students who ticked that they
    read it, in the version now on the post (`briefing_digest`, as the form sent it)."""
    post = session.post
    if not post.safety_briefing:
        return
    if not briefing_digest:
        raise BaseError(
            _("Read the post's safety briefing and tick that you understood it, then apply."),
            code="briefing_not_acknowledged",
        )
    if briefing_digest != post.briefing_digest:
        raise BaseError(
            _("The safety briefing changed since you opened the page: read it again, then apply."),
            code="briefing_changed",
        )


# One statement: take a seat if one is free (`take`), write the application (confirmed with
# the seat; else `unseated`, or nothing when that is NULL) and its audit entry. Applied at: the
# clock once the seat is settled (after waiting for the row), so first come is first served.
# It states two rules again, whose Python homes are `_take_seat` (a seat only while
# `taken < capacity`) and `audit_log_record` (the audit entry's fields); tests/bases/
# test_concurrency.py (the rushes, PostgreSQL) and test_applications.py (the audit entries)
# cover them here. Run inside `prepared_statements`, it is planned once per connection.
_SESSIONS, _APPLICATIONS = Session._meta.db_table, Application._meta.db_table
_AUDIT = AuditLog._meta.db_table
_ENTER_SQL = f"""
WITH seat AS (
    UPDATE {_SESSIONS} SET taken = taken + 1
    WHERE id = %(session)s AND %(take)s AND taken < capacity
    RETURNING id
), application AS (
    INSERT INTO {_APPLICATIONS} (student_id, session_id, status, created_at, updated_at)
    SELECT %(student)s, %(session)s,
           CASE WHEN EXISTS (SELECT FROM seat) THEN %(seated)s ELSE %(unseated)s::varchar END,
           clock_timestamp(), clock_timestamp()
    WHERE EXISTS (SELECT FROM seat) OR %(unseated)s::varchar IS NOT NULL
    RETURNING id, status, created_at
), entry AS (
    INSERT INTO {_AUDIT}
        (actor_id, action, object_type, object_id, object_repr, data, created_at)
    SELECT %(actor)s, 'application.create', %(object_type)s, application.id::text, %(repr)s,
           (CASE WHEN application.status = %(seated)s THEN %(seated_data)s
                 ELSE %(unseated_data)s END)::jsonb,
           application.created_at
    FROM application
)
SELECT id, status, created_at FROM application
"""


def _audit_data(status: str, hold: Hold | None) -> dict:
    data = {"status": status}
    if hold is not None:
        data["held_until"] = hold.until.isoformat()
    return data


def _application_enter(
    *,
    student: Student,
    session: Session,
    status: str | None,
    if_full: str | None = None,
    hold: Hold | None = None,
) -> Application | None:
    """Write the application and its audit entry (`application.create`) in `status`; with
    `status` None, take a seat if one is free (confirmed), else write it as `if_full`, or
    write nothing and return None when `if_full` is None too.

    With `taken` changed by `_take_seat` and `_seat_freed_since`, the places applying changes a
    session's seats. On PostgreSQL it is one statement (`_ENTER_SQL`); elsewhere, and for the
    canary without locks, the same steps one by one.
    """
    if connection.vendor != "postgresql" or not LOCKING:
        if status is None:
            if _take_seat(session):
                status = ApplicationStatus.CONFIRMED
            elif if_full is not None:
                status = if_full
            else:
                return None
        application = Application.objects.create(student=student, session=session, status=status)
        audit_log_record(
            actor=student.user,
            action="application.create",
            target=application,
            data=_audit_data(status, hold),
        )
        return application
    unseated = if_full if status is None else status
    params = {
        "session": session.pk,
        "student": student.pk,
        "take": status is None,
        "seated": ApplicationStatus.CONFIRMED.value,
        "unseated": None if unseated is None else str(unseated),
        "actor": student.user_id,
        "object_type": Application._meta.label_lower,
        "repr": str(Application(student=student, session=session))[:200],
        "seated_data": json.dumps(_audit_data(ApplicationStatus.CONFIRMED, hold)),
        "unseated_data": json.dumps(_audit_data(unseated, hold) if unseated else {}),
    }
    with connection.cursor() as cursor:
        cursor.execute(_ENTER_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if status is None and row[1] == ApplicationStatus.CONFIRMED:
        # The seat was taken by raw SQL, which no model signal announces: the pages showing
        # the session's free seats (the cached listing) hear of it here.
        rows_changed.send(sender=Session, fields=frozenset({"taken"}))
    application = Application(
        pk=row[0],
        student=student,
        session=session,
        status=row[1],
        status_reason="",
        cancelled_from="",
        created_at=row[2],
        updated_at=row[2],
    )
    application._state.adding = False
    application._state.db = connection.alias
    return application


def _seat_freed_since(application: Application) -> int | None:
    """For a student who just joined the waiting list of a full first-come session (PostgreSQL,
    where joining takes no lock that queues applicants): read the session again under a share
    lock. It waits for a cancellation (or any change that frees seats, which locks the row
    `FOR UPDATE`) in progress, and makes a later one wait until this commits, so it sees this
    student waiting. A seat free now is taken: the application is confirmed, and audited as a
    promotion. Returns the place on the waiting list, read in the same statement (None once
    confirmed, or when this database needs none of this)."""
    if connection.vendor != "postgresql" or not LOCKING:
        return None  # `_take_seat` looked again under the session's lock
    values = {
        "session": application.session_id,
        "created_at": application.created_at,
        "application": application.pk,
    }
    if application.draw_position is not None:
        values["drawn"] = application.draw_position
    ahead_sql, ahead_params = _WAITING_AHEAD[application.draw_position is None].sql_with_params(
        **values
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT taken < capacity, (SELECT COUNT(*) FROM ({ahead_sql}) ahead) "
            f"FROM {_SESSIONS} WHERE id = %s FOR KEY SHARE",
            [*ahead_params, application.session_id],
        )
        free, ahead = cursor.fetchone()
    if not free:
        return ahead + 1
    seats = Session.objects.filter(pk=application.session_id, taken__lt=F("capacity"))
    if not seats.update(taken=F("taken") + 1):
        return ahead + 1
    application.status = ApplicationStatus.CONFIRMED
    application.save(update_fields=["status", "updated_at"])
    audit_log_record(actor=None, action="application.promote", target=application)
    return None


def _apply(
    *, student: Student, session: Session, waitlist_if_full: bool, briefing_digest: str
) -> Application:
    now = timezone.now()
    student = _lock_applicant(student)
    session = _session_for_applicant(session, student)
    if session.allocation == Allocation.LOTTERY:  # as stored, whatever the caller passed
        session = _session_for_applicant(session, student, lock=True)
    check_can_apply(session=session, student=student, now=now)
    _check_briefing(session=session, briefing_digest=briefing_digest)
    # A student held back by the reliability rule joins the waiting list, free seats or not; in
    # a lottery they are drawn with the policy's weight instead (services.lottery).
    hold = student_hold(student=student, now=now)
    awaiting_consent = consent_missing(session=session, student=student)
    if awaiting_consent:
        status = ApplicationStatus.AWAITING_CONSENT  # no seat, no draw until the school records it
    elif session.allocation == Allocation.LOTTERY:
        status = ApplicationStatus.PENDING
    elif hold is not None:
        status = ApplicationStatus.WAITLISTED
    else:
        status = None  # a seat while one is free
    application = _application_enter(
        student=student,
        session=session,
        status=status,
        if_full=ApplicationStatus.WAITLISTED if waitlist_if_full else None,
        hold=hold,
    )
    if application is None:
        raise BaseError(_("This session is full. You can join the waiting list."), code="full")
    position = None
    if status is None and application.status == ApplicationStatus.WAITLISTED:
        position = _seat_freed_since(application)
    if session.post.safety_briefing:
        BriefingAcknowledgement.objects.create(
            student=student,
            post=session.post,
            application=application,
            digest=briefing_digest,
            text=session.post.safety_briefing,
            acknowledged_by=student.user,
        )
        audit_log_record(
            actor=student.user,
            action="application.briefing_acknowledge",
            target=application,
            data={"digest": briefing_digest},
        )
    _tell_applied(application, hold=hold, position=position)
    if awaiting_consent:
        tell_school_consent_awaited(application, session_label(session))
    return application


def _tell_applied(
    application: Application, *, hold: Hold | None = None, position: int | None = None
) -> None:
    """Tell the student where their application stands: confirmed, drawn later or waiting
    (`position`: their place on the waiting list, if the caller read it already)."""
    student = application.student
    params = {"session": session_label(application.session)}
    if application.status == ApplicationStatus.WAITLISTED and hold is not None:
        message = APPLICATION_WAITLISTED_HELD
        params["position"] = position or waitlist_position(application)
        params["until"] = date_format(timezone.localtime(hold.until), "Y-m-d H:i")
        params["count"] = hold.no_shows
    elif application.status == ApplicationStatus.WAITLISTED:
        message = APPLICATION_WAITLISTED
        params["position"] = position or waitlist_position(application)
    elif application.status == ApplicationStatus.PENDING:
        message = APPLICATION_PENDING
    elif application.status == ApplicationStatus.AWAITING_CONSENT:
        message = APPLICATION_AWAITING_CONSENT
    else:
        message = APPLICATION_CONFIRMED
    student_notification_send(
        student=student,
        message=message,
        params=params,
        url=reverse("bases:my-applications"),
        any_guardians=getattr(student, "any_guardians", True),
    )


@transaction.atomic
def application_apply(
    *, student: Student, session: Session, briefing_digest: str = ""
) -> Application:
    """Apply for a session: confirmed while seats remain, pending for a lottery, else refused.

    A post needing a guardian's consent the student lacks: awaiting consent, no seat taken. A
    post with a safety briefing: `briefing_digest` is the digest of the briefing the student
    ticked (`Post.briefing_digest`); without it, or for an older text, applying is refused.
    """
    with prepared_statements():
        return _apply(
            student=student,
            session=session,
            waitlist_if_full=False,
            briefing_digest=briefing_digest,
        )


@transaction.atomic
def application_apply_or_waitlist(
    *, student: Student, session: Session, briefing_digest: str = ""
) -> Application:
    """Apply for a session, joining the waiting list if it is full."""
    with prepared_statements():  # the apply rush: each statement planned once per connection
        return _apply(
            student=student, session=session, waitlist_if_full=True, briefing_digest=briefing_digest
        )


def _waiting_ahead(application: Application):
    """The applications ahead of this waitlisted one on its session's waiting list, in the order
    of `WAITLIST_ORDER` (draw position, nulls last; then applied at, id)."""
    drawn = application.draw_position
    earlier = Q(created_at__lt=application.created_at) | Q(
        created_at=application.created_at, id__lt=application.id
    )
    if drawn is None:
        ahead = Q(draw_position__isnull=False) | (Q(draw_position__isnull=True) & earlier)
    else:
        ahead = Q(draw_position__lt=drawn) | (Q(draw_position=drawn) & earlier)
    return Application.objects.filter(
        ahead, session_id=application.session_id, status=ApplicationStatus.WAITLISTED
    ).order_by()


def _waiting_ahead_of(*, session: int, created_at: datetime, application: int, drawn=None):
    ahead = Application(id=application, session_id=session, created_at=created_at)
    ahead.draw_position = drawn
    return _waiting_ahead(ahead).values("pk")


# By whether the application was drawn (a lottery's waiting list), which changes the SQL.
_WAITING_AHEAD = {undrawn: CompiledSQL(_waiting_ahead_of) for undrawn in (True, False)}


def waitlist_position(application: Application) -> int | None:
    """1 for the next student to be promoted; None when not on the waiting list."""
    if application.status != ApplicationStatus.WAITLISTED:
        return None
    return _waiting_ahead(application).count() + 1


def waitlist_promote_next(*, session: Session) -> Application | None:
    """Confirm the first waitlisted student into a free seat and tell them at once.

    A student who has meanwhile been confirmed for a session at the same time keeps their place
    on this waiting list but is passed over, so nobody ends up confirmed twice at once.
    """
    waiting = (
        Application.objects.select_for_update(of=("self",))
        .filter(session=session, status=ApplicationStatus.WAITLISTED)
        .order_by(*WAITLIST_ORDER)
        .select_related("student__user")
    )
    candidate = next(
        (
            application
            for application in waiting
            if _clashing_application(session=session, student_id=application.student_id) is None
        ),
        None,
    )
    if candidate is None:
        return None
    candidate.status = ApplicationStatus.CONFIRMED
    candidate.save(update_fields=["status", "updated_at"])
    Session.objects.filter(pk=session.pk).update(taken=F("taken") + 1)
    audit_log_record(actor=None, action="application.promote", target=candidate)
    student_notification_send(
        student=candidate.student,
        message=APPLICATION_PROMOTED,
        params={"session": session_label(session)},
        url=reverse("bases:my-applications"),
    )
    return candidate


@transaction.atomic
def application_cancel(*, application: Application, cancelled_by: User) -> Application:
    """Cancel until the session's cut-off; a freed seat goes to the first on the waiting list."""
    if application.student.user_id != cancelled_by.pk:
        raise BaseError(_("Only the student may cancel their application."), code="not_authorised")
    _lock_student(application.student)
    session = _lock_session(application.session)
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.status not in LIVE_STATUSES:
        raise BaseError(
            _("This application can no longer be cancelled (%(status)s)."),
            code="not_cancellable",
            params={"status": application.get_status_display()},
        )
    cutoff = session.cancel_cutoff_at or session.starts_at
    if timezone.now() >= cutoff:
        raise BaseError(
            _("The cancellation cut-off (%(when)s) has passed; contact the base."),
            code="cutoff_passed",
            params={"when": date_format(timezone.localtime(cutoff), "Y-m-d H:i")},
        )
    was_confirmed = application.status == ApplicationStatus.CONFIRMED
    application.cancelled_from = application.status
    application.cancelled_at = timezone.now()
    application.status = ApplicationStatus.CANCELLED
    application.save(update_fields=["status", "cancelled_from", "cancelled_at", "updated_at"])
    audit_log_record(actor=cancelled_by, action="application.cancel", target=application)
    if was_confirmed:
        reservation = application.reservation
        if reservation is not None and reservation.released_at is None:
            # The seat stays held by the class reservation until its release time.
            return application
        Session.objects.filter(pk=session.pk).update(taken=F("taken") - 1)
        waitlist_promote_next(session=session)
    return application
