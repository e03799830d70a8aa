"""Scratch objects the scenarios make and remove: a certified city base with its coordinator, a
post, sessions and their applicants, signed-in browser sessions, and raw database connections.

Scratch sessions sit at hours the generated data never uses (from 05:00 Shanghai time, before
any generated slot), so they clash with no generated application or record. `Scratch(name)`
removes everything it made on `close()` (its base cascades to posts, sessions, applications,
attendance, scans, tokens and imports), plus the audit entries written since it started; a
scratch base left over by a run that died is removed when the next one starts.
"""

import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session as BrowserSession
from django.db import connection, transaction
from django.utils import timezone

from bases.models import Application, Base, Coordinator, Post, Session
from districts.models import District
from portal.models import AuditLog, Role, User
from students.models import Category, School, Student, TeacherAssignment

from .generate import local

CODE_PREFIX = "BENCHX-"
USER_PREFIX = "bench-scratch-"
EARLY = time(5, 0)  # before every generated slot (the first starts at 09:00)


def remove_leftovers() -> None:
    """Scratch bases and users of runs that died before cleaning up."""
    bases = Base.objects.filter(code__startswith=CODE_PREFIX)
    Application.objects.filter(session__post__base__in=bases).delete()
    bases.delete()
    User.objects.filter(username__startswith=USER_PREFIX).delete()


class Scratch:
    def __init__(self, name: str):
        remove_leftovers()
        self.name = name
        self.today = timezone.localdate()
        self.audit_from = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first()
        self.browser_sessions: list[str] = []
        now = timezone.now()
        self.coordinator = User.objects.create(
            username=f"{USER_PREFIX}{name}", role=Role.COORDINATOR, full_name="基准测试协调员"
        )
        self.base = Base.objects.create(
            code=f"{CODE_PREFIX}{name}"[:32],
            name=f"基准测试基地（{name}）",
            level="city",
            district=District.objects.order_by("sort_order", "code").first(),
            status="certified",
            certified_until=self.today + timedelta(days=365),
            certified_at=now,
        )
        Coordinator.objects.create(user=self.coordinator, base=self.base)
        self.post = Post.objects.create(
            base=self.base,
            title="基准测试岗位",
            category=Category.objects.get(code="volunteer_service"),
            eligible_grades="123",
            status="published",
            created_by=self.coordinator,
        )

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def sessions(
        self, day: date, count: int, *, start: time = EARLY, minutes: int = 90, capacity: int
    ) -> list[Session]:
        """`count` sessions of the scratch post on `day` from `start`, open for applications now
        (a future day) or closed to applications but open for attendance (a past day)."""
        starts_at = local(day, start)
        now = timezone.now()
        past = starts_at < now
        sessions = [
            Session(
                post=self.post,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
                capacity=capacity,
                allocation="first_come",
                applications_open_at=(starts_at - timedelta(days=3))
                if past
                else now - timedelta(hours=1),
                applications_close_at=(starts_at - timedelta(hours=1))
                if past
                else starts_at - timedelta(hours=2),
            )
            for _ in range(count)
        ]
        return Session.objects.bulk_create(sessions)

    def confirm(self, session_students: list[tuple[Session, list[int]]]) -> None:
        """Confirmed applications (seats taken) for the given students of each session."""
        rows = [
            Application(student_id=student_id, session=session, status="confirmed")
            for session, students in session_students
            for student_id in students
        ]
        Application.objects.bulk_create(rows, batch_size=5000)
        for session, students in session_students:
            Session.objects.filter(pk=session.pk).update(taken=len(students))

    def login_cookie(self, user: User) -> str:
        """A signed-in browser session of `user`, as a Cookie header value."""
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        self.browser_sessions.append(store.session_key)
        return f"sessionid={store.session_key}"

    def close(self) -> None:
        with transaction.atomic():
            bases = Base.objects.filter(pk=self.base.pk)
            Application.objects.filter(session__post__base__in=bases).delete()
            bases.delete()
            User.objects.filter(username__startswith=USER_PREFIX).delete()
            BrowserSession.objects.filter(session_key__in=self.browser_sessions).delete()
            entries = AuditLog.objects.all()
            if self.audit_from is not None:
                entries = entries.filter(pk__gt=self.audit_from)
            entries.delete()


def scratch_school_remove(school: School, user_ids: list[int]) -> None:
    """Remove a bench script's scratch school: its students, teacher assignments and classes,
    then the given users (its people) and the school itself."""
    Student.objects.filter(school_class__school=school).delete()
    TeacherAssignment.objects.filter(school=school).delete()
    school.classes.all().delete()
    User.objects.filter(pk__in=user_ids).delete()
    school.delete()


def students(count: int, *, offset: int = 0) -> list[int]:
    """Ids of `count` students with a login, spread over the whole list (every class)."""
    ids = list(
        Student.objects.filter(user__isnull=False).order_by("pk").values_list("pk", flat=True)
    )
    if not ids:
        return []
    step = max(1, len(ids) // max(1, count))
    picked = [ids[(offset + k * step) % len(ids)] for k in range(min(count, len(ids)))]
    return list(dict.fromkeys(picked))


def past_day(days_ago: int) -> date:
    return timezone.localdate() - timedelta(days=days_ago)


def future_day(days_ahead: int) -> date:
    return timezone.localdate() + timedelta(days=days_ahead)


# ------------------------------------------------------------------------------
# Raw connections: the baselines talk to the database without Django
# ------------------------------------------------------------------------------
def raw_params() -> dict:
    """What `raw_connect` needs, picklable (for child processes)."""
    settings = connection.settings_dict
    return {
        "vendor": connection.vendor,
        "name": str(settings["NAME"]),
        "host": settings.get("HOST") or "127.0.0.1",
        "port": settings.get("PORT") or 5432,
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
    }


def raw_connect(params: dict):
    """A DB-API connection to the bench database: psycopg (PostgreSQL) or sqlite3, autocommit
    off for psycopg; sqlite3 in autocommit mode (the caller says BEGIN IMMEDIATE)."""
    if params["vendor"] == "postgresql":
        import psycopg

        return psycopg.connect(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            dbname=params["name"],
        )
    raw = sqlite3.connect(params["name"], timeout=60, isolation_level=None)
    # Check constraints use REGEXP, which Django registers on its own SQLite connections.
    raw.create_function(
        "REGEXP",
        2,
        lambda pattern, value: value is not None and bool(re.search(pattern, str(value))),
    )
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    return raw


def raw_sql(params: dict, sql: str) -> str:
    """`%s` placeholders as the driver wants them."""
    return sql if params["vendor"] == "postgresql" else sql.replace("%s", "?")


def db_value(params: dict, moment: datetime):
    """A datetime as the raw driver should send it (SQLite keeps naive UTC text)."""
    if params["vendor"] == "postgresql":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
