"""The rules every way of recording attendance applies: roster, API scans, self check-in and
the sheet import.

Each rule is a pure function of the facts it is given and returns a `Problem` code, or None when
the rule holds; it reads nothing from the database. The callers word the problem for their
readers through the mappings below: a scan is refused with `SCAN_MESSAGES`, a sheet row is
reported with `SHEET_MESSAGES` (which name the row's session or time, as the row's context).

It also holds the other rules of a session's timing: the scan margin and clock skew, and the
hours a reviewer is warned about (`session_flags`: late at night, longer than a day).
"""

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_noop

from .models import Session

# How far outside the session a scan may happen: early arrivals and late check-outs.
SCAN_MARGIN = timedelta(hours=3)
# Clocks of phones and scanners drift; a scan a little in the future is still accepted.
CLOCK_SKEW = timedelta(minutes=5)
# When students may check themselves in and out with the session's rotating code: from half an
# hour before the start to half an hour after the end (the roster keeps the wider scan margin).
SELF_CHECK_IN_EARLY = timedelta(minutes=30)
SELF_CHECK_IN_LATE = timedelta(minutes=30)
# Students are minors: a session with any part between these local times (22:00 to 06:00) is
# flagged to the reviewer as late at night: a hint on the review page only. The hours a session
# must keep to are the safety policy's (`students.SafetyPolicy`, checked when publishing by
# `bases.services.publishing.check_session_hours`).
NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(6, 0)
# A session longer than this is flagged too (a typo in the end date, or a stay to look at).
LONG_SESSION = timedelta(days=1)


class Problem(StrEnum):
    """Why attendance cannot be recorded as given."""

    CLOSED = "closed"
    CANCELLED = "cancelled"
    NOT_CONFIRMED = "not_confirmed"
    TIME_IN_FUTURE = "time_in_future"
    TIME_OUTSIDE_SESSION = "time_outside_session"
    OVERLAP = "overlap"
    ALREADY_RECORDED = "already_recorded"
    SHORT_STAY = "short_stay"
    SELF_CHECK_IN_OFF = "self_check_in_off"
    OUTSIDE_CHECK_IN_WINDOW = "outside_check_in_window"
    CODE_EXPIRED = "code_expired"


# Messages are marked here and translated where they are shown (the caller's language).
SCAN_MESSAGES = {
    Problem.CLOSED: gettext_noop(
        "Attendance for this session is closed; ask for a correction instead."
    ),
    Problem.CANCELLED: gettext_noop("The base cancelled this session; nothing is recorded for it."),
    Problem.NOT_CONFIRMED: gettext_noop("%(name)s is not confirmed for this session."),
    Problem.TIME_IN_FUTURE: gettext_noop("A scan cannot happen in the future."),
    Problem.TIME_OUTSIDE_SESSION: gettext_noop(
        "%(time)s is outside the session (%(start)s–%(end)s)."
    ),
    Problem.ALREADY_RECORDED: gettext_noop(
        "%(name)s was already recorded at %(time)s; a scan this soon after is not counted again."
    ),
    Problem.SHORT_STAY: gettext_noop(
        "%(name)s checked in at %(time)s: checking out now credits only %(minutes)s minutes "
        "(less than %(minimum)s). Confirm the check-out on the roster."
    ),
}
# What a student checking themselves in is told (their own phone, so "you").
SELF_MESSAGES = {
    Problem.CLOSED: gettext_noop("Attendance for this session is closed."),
    Problem.CANCELLED: gettext_noop("The base cancelled this session; nothing is recorded for it."),
    Problem.NOT_CONFIRMED: gettext_noop(
        "You are not confirmed for this session. Ask the coordinator at the door."
    ),
    Problem.ALREADY_RECORDED: gettext_noop(
        "You were already recorded at %(time)s. Scan again later to check out."
    ),
    Problem.SHORT_STAY: gettext_noop(
        "You checked in at %(time)s, only %(minutes)s minutes ago. To leave this early, ask "
        "the coordinator to check you out."
    ),
    Problem.SELF_CHECK_IN_OFF: gettext_noop(
        "Self check-in is off for this post. Ask the coordinator to check you in."
    ),
    Problem.OUTSIDE_CHECK_IN_WINDOW: gettext_noop(
        "Check-in for this session is open from %(start)s to %(end)s."
    ),
    Problem.CODE_EXPIRED: gettext_noop(
        "This code is no longer valid. Scan or type the code on the check-in screen now."
    ),
    Problem.TIME_OUTSIDE_SESSION: SCAN_MESSAGES[Problem.TIME_OUTSIDE_SESSION],
    Problem.TIME_IN_FUTURE: SCAN_MESSAGES[Problem.TIME_IN_FUTURE],
}
SHEET_MESSAGES = {
    Problem.CLOSED: gettext_noop(
        "Attendance for session %(value)s is already closed; ask the coordinator for "
        "a correction instead."
    ),
    Problem.CANCELLED: gettext_noop(
        "Session %(value)s was cancelled by the base; nothing is recorded for it."
    ),
    Problem.NOT_CONFIRMED: gettext_noop("%(name)s is not confirmed for session %(session)s."),
    Problem.TIME_IN_FUTURE: gettext_noop("%(time)s is in the future."),
    Problem.TIME_OUTSIDE_SESSION: SCAN_MESSAGES[Problem.TIME_OUTSIDE_SESSION],
}
# A sheet row overlaps something else; the message names what.
SHEET_OVERLAP_MESSAGES = {
    "row": gettext_noop("%(name)s is at another session at that time, on row %(row)s."),
    "record": gettext_noop(
        "%(name)s already has a record at that time: %(title)s, %(start)s–%(end)s."
    ),
    "attendance": gettext_noop(
        "%(name)s is recorded at %(post)s at that time (%(start)s–%(end)s)."
    ),
}
# The sheet reports a closed session under this code (its column is the session id).
SHEET_CLOSED_CODE = "closed_session"


def local_time(moment: datetime, pattern: str = "Y-m-d H:i") -> str:
    """A moment as the portal's local time, the way the rules' messages show it."""
    return date_format(timezone.localtime(moment), pattern)


def session_window(session: Session) -> tuple[datetime, datetime]:
    """When scans of a session may happen: the session widened by the scan margin."""
    return session.starts_at - SCAN_MARGIN, session.ends_at + SCAN_MARGIN


class SessionFlag(StrEnum):
    """What a reviewer should look at twice in a session's timing."""

    LATE_NIGHT = "late_night"
    LONGER_THAN_A_DAY = "longer_than_a_day"


SESSION_FLAG_MESSAGES = {
    SessionFlag.LATE_NIGHT: gettext_noop("Late at night (%(start)s–%(end)s)"),
    SessionFlag.LONGER_THAN_A_DAY: gettext_noop("Longer than a day"),
}


def session_flag_params() -> dict[str, str]:
    """The parameters of the flags' messages: the night's hours."""
    return {"start": NIGHT_STARTS.strftime("%H:%M"), "end": NIGHT_ENDS.strftime("%H:%M")}


def _touches_night(starts_at: datetime, ends_at: datetime) -> bool:
    """Whether [starts_at, ends_at) shares any time with a night (NIGHT_STARTS to NIGHT_ENDS)."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    day: date = start.date() - timedelta(days=1)
    while day <= end.date():
        night_start = timezone.make_aware(datetime.combine(day, NIGHT_STARTS))
        night_end = timezone.make_aware(datetime.combine(day + timedelta(days=1), NIGHT_ENDS))
        if night_start < end and night_end > start:
            return True
        day += timedelta(days=1)
    return False


def session_flags(*, starts_at: datetime, ends_at: datetime) -> list[SessionFlag]:
    """The flags of a session's timing, for the post review page (none for a daytime session)."""
    flags = []
    if _touches_night(starts_at, ends_at):
        flags.append(SessionFlag.LATE_NIGHT)
    if ends_at - starts_at > LONG_SESSION:
        flags.append(SessionFlag.LONGER_THAN_A_DAY)
    return flags


def session_closed(*, session: Session) -> Problem | None:
    """A closed session takes no new attendance (corrections go through the roster); a
    cancelled one takes none at all."""
    if session.cancelled_at is not None:
        return Problem.CANCELLED
    return Problem.CLOSED if session.attendance_closed_at is not None else None


def on_roster(*, has_attendance: bool, confirmed: bool) -> Problem | None:
    """Only a student on the roster (confirmed, or already recorded) may be recorded."""
    return None if has_attendance or confirmed else Problem.NOT_CONFIRMED


def scan_time(*, session: Session, happened_at: datetime, now: datetime) -> Problem | None:
    """A scan is not in the future (beyond clock skew) and lies in the session's window."""
    if happened_at > now + CLOCK_SKEW:
        return Problem.TIME_IN_FUTURE
    start, end = session_window(session)
    if not start <= happened_at <= end:
        return Problem.TIME_OUTSIDE_SESSION
    return None


def repeated_scan(
    *, happened_at: datetime, earlier: list[datetime], repeat: timedelta
) -> datetime | None:
    """A second scan this close to another of the same student is a double scan, not a new
    check-out: returns the time of the scan it repeats, or None."""
    close = [at for at in earlier if abs(happened_at - at) < repeat]
    return min(close, key=lambda at: abs(happened_at - at)) if close else None


def short_stay(
    *, session: Session, checked_in_at: datetime, checked_out_at: datetime, minimum: int
) -> Problem | None:
    """A check-out that credits fewer than `minimum` minutes needs someone to confirm it."""
    start, end = credited_span(
        session=session, checked_in_at=checked_in_at, checked_out_at=checked_out_at
    )
    minutes = max(0, int((end - start).total_seconds() // 60))
    return Problem.SHORT_STAY if minutes < minimum else None


def self_check_in_window(session: Session) -> tuple[datetime, datetime]:
    """When a student may check themselves in or out with the session's code."""
    return session.starts_at - SELF_CHECK_IN_EARLY, session.ends_at + SELF_CHECK_IN_LATE


def self_check_in_open(*, session: Session, now: datetime) -> Problem | None:
    """Self check-in is on for the post, the session not closed, and now within its window."""
    if not session.post.self_check_in:
        return Problem.SELF_CHECK_IN_OFF
    if problem := session_closed(session=session):
        return problem
    start, end = self_check_in_window(session)
    if not start <= now <= end:
        return Problem.OUTSIDE_CHECK_IN_WINDOW
    return None


def window_params(session: Session) -> dict[str, str]:
    start, end = self_check_in_window(session)
    return {"start": local_time(start), "end": local_time(end, "H:i")}


def time_params(*, session: Session, happened_at: datetime) -> dict[str, str]:
    """The parameters of a time problem's message: the time and the session's span."""
    return {
        "time": local_time(happened_at),
        "start": local_time(session.starts_at),
        "end": local_time(session.ends_at, "H:i"),
    }


def credited_span(
    *, session: Session, checked_in_at: datetime, checked_out_at: datetime
) -> tuple[datetime, datetime]:
    """The part of an attendance inside its session: what the ledger record covers."""
    return max(checked_in_at, session.starts_at), min(checked_out_at, session.ends_at)


def overlap(*, span: tuple[datetime, datetime], other: tuple[datetime, datetime]) -> Problem | None:
    """One student cannot be in two places at once: two spans may touch, never overlap."""
    return Problem.OVERLAP if other[0] < span[1] and other[1] > span[0] else None
