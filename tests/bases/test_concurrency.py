"""Correct under a rush: real threads, each with its own PostgreSQL connection and transaction,
released together by a barrier. The canary shows the same harness sees the race when the locks
are switched off, so the tests with locks on prove something (pretix's
`test_quota_race_condition_happens_if_we_disable_locks`).

Run: DATABASE_URL=postgres://... pytest tests/bases/test_concurrency.py -s  (prints timings)
"""

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection

from bases.errors import BaseError
from bases.models import Application, ApplicationStatus, Session
from bases.services import applications
from bases.services.applications import (
    application_apply,
    application_apply_or_waitlist,
    application_cancel,
)
from portal.models import Role
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: a transactional test empties the database afterwards; this puts the
    # migrations' rows (districts, categories, policy) back before each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# PostgreSQL allows 100 connections by default and other test runs share the server.
WORKERS = int(os.environ.get("CONCURRENCY_WORKERS", "32"))
CAPACITY = 30
APPLICANTS = 200


@dataclass
class Rush:
    """What came back from a rush: one outcome per call (a status or a refusal code)."""

    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0
    threads: int = 0

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def report(self, label: str) -> str:
        line = (
            f"{label}: {self.calls} calls by {self.threads} threads in "
            f"{self.seconds:.3f} s ({self.per_second:.0f}/s); outcomes {dict(self.outcomes)}; "
            f"errors {len(self.errors)}"
        )
        print(f"\n[concurrency] {line}")
        return line


def rush(calls: list[Callable[[], Application]], workers: int = WORKERS) -> Rush:
    """Run the calls on `workers` threads that connect first, then start together."""
    chunks = [calls[n::workers] for n in range(min(workers, len(calls)))]
    result = Rush(calls=len(calls), threads=len(chunks))
    started = []
    barrier = threading.Barrier(len(chunks), action=lambda: started.append(time.perf_counter()))
    lock = threading.Lock()

    def work(chunk):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            for call in chunk:
                try:
                    outcome = str(call().status)
                except BaseError as error:
                    outcome = error.code
                except IntegrityError as error:
                    outcome = "IntegrityError"
                    with lock:
                        result.errors.append(f"IntegrityError: {error}".splitlines()[0])
                except Exception as error:  # noqa: BLE001 - every other failure is a 500
                    outcome = type(error).__name__
                    with lock:
                        result.errors.append(repr(error))
                with lock:
                    result.outcomes[outcome] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    result.seconds = time.perf_counter() - started[0]
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return result


def _apply_calls(service, students, session):
    return [lambda s=s: service(student=s, session=session) for s in students]


def _statuses(session) -> Counter:
    return Counter(Application.objects.filter(session=session).values_list("status", flat=True))


@pytest.fixture
def first_come_session(make_session):
    return make_session(capacity=CAPACITY)


def test_two_hundred_students_for_thirty_seats_leave_thirty_confirmed(
    first_come_session, make_students, assert_seats_consistent
):
    students = make_students(APPLICANTS)

    result = rush(_apply_calls(application_apply_or_waitlist, students, first_come_session))
    result.report("200 students, 30 seats, locking on")

    assert result.errors == []
    assert result.outcomes == {"confirmed": CAPACITY, "waitlisted": APPLICANTS - CAPACITY}
    assert _statuses(first_come_session) == {
        "confirmed": CAPACITY,
        "waitlisted": APPLICANTS - CAPACITY,
    }
    assert assert_seats_consistent(first_come_session) == CAPACITY
    # First come, first served: every confirmed seat went to an earlier application.
    placed = Application.objects.filter(session=first_come_session)
    last_confirmed = max(placed.filter(status="confirmed").values_list("created_at", flat=True))
    first_waiting = min(placed.filter(status="waitlisted").values_list("created_at", flat=True))
    assert last_confirmed < first_waiting


def test_one_at_a_time_gives_the_same_result(first_come_session, make_students):
    """The baseline for the timings: the same 200 applications from a single thread. Applications
    to one session are serialised by its row lock, so the rush cannot beat this figure."""
    students = make_students(APPLICANTS)

    result = rush(
        _apply_calls(application_apply_or_waitlist, students, first_come_session), workers=1
    )
    result.report("baseline: 200 students, 30 seats, one thread")

    assert result.errors == []
    assert result.outcomes == {"confirmed": CAPACITY, "waitlisted": APPLICANTS - CAPACITY}


def test_canary_without_locks_the_same_rush_over_books(first_come_session, make_students):
    """The harness must see the race: without locks, applicants read `taken` concurrently.

    The check constraint `taken <= capacity` still stops the count itself from passing 30, so
    the race shows as applicants whom the seat check let through and whose write then failed
    with an IntegrityError (a 500 for a user), or as more than 30 confirmed applications. With
    20-32 threads released together it shows on every run (18-31 IntegrityErrors measured), so
    no artificial pause is needed between the read and the write.
    """
    students = make_students(APPLICANTS)
    applications.LOCKING = False
    try:
        result = rush(_apply_calls(application_apply_or_waitlist, students, first_come_session))
    finally:
        applications.LOCKING = True
    result.report("canary: 200 students, 30 seats, locking OFF")

    confirmed = _statuses(first_come_session)["confirmed"]
    assert confirmed > CAPACITY or result.outcomes["IntegrityError"] > 0, result.outcomes


def test_one_student_submitting_twenty_times_at_once_gets_one_application(
    first_come_session, make_students, assert_seats_consistent
):
    (student,) = make_students(1)

    result = rush([lambda: application_apply(student=student, session=first_come_session)] * 20)
    result.report("1 student, same application x20")

    assert result.errors == []
    assert result.outcomes == {"confirmed": 1, "already_applied": 19}
    assert Application.objects.filter(student=student).count() == 1
    assert assert_seats_consistent(first_come_session) == 1


def test_one_student_applying_at_once_to_ten_overlapping_sessions_is_confirmed_once(
    make_session, make_students
):
    (student,) = make_students(1)
    first = make_session()
    sessions = [first] + [
        make_session(starts_at=first.starts_at + timedelta(minutes=15 * n)) for n in range(1, 10)
    ]

    result = rush([lambda s=s: application_apply(student=student, session=s) for s in sessions])
    result.report("1 student, 10 overlapping sessions")

    assert result.errors == []
    assert result.outcomes == {"confirmed": 1, "time_clash": 9}
    assert student.applications.filter(status=ApplicationStatus.CONFIRMED).count() == 1
    assert sum(Session.objects.values_list("taken", flat=True)) == 1


def test_cancellations_during_a_rush_go_to_the_waiting_list_in_order(
    first_come_session, make_students, assert_seats_consistent
):
    """Ten confirmed students cancel while fifty more apply: 30 stay confirmed, and the freed
    seats go to the first ten who were waiting, never to a newcomer."""
    students = make_students(80)
    for student in students[:40]:
        application_apply_or_waitlist(student=student, session=first_come_session)
    placed = Application.objects.filter(session=first_come_session).order_by("created_at", "id")
    leaving = list(placed.filter(status="confirmed").select_related("student")[:10])
    for application in leaving:
        # Only the student may cancel: give the leavers accounts.
        application.student.user = UserFactory(role=Role.STUDENT)
        application.student.save(update_fields=["user"])
    next_in_line = list(placed.filter(status="waitlisted").values_list("student_id", flat=True))

    calls = [
        lambda a=a: application_cancel(application=a, cancelled_by=a.student.user) for a in leaving
    ] + _apply_calls(application_apply_or_waitlist, students[40:], first_come_session)
    result = rush(calls)
    result.report("10 cancellations + 50 new applicants")

    assert result.errors == []
    assert result.outcomes == {"cancelled": 10, "waitlisted": 40}
    assert assert_seats_consistent(first_come_session) == CAPACITY
    confirmed = set(
        Application.objects.filter(session=first_come_session, status="confirmed").values_list(
            "student_id", flat=True
        )
    )
    assert set(next_in_line) <= confirmed
    assert not confirmed & {s.pk for s in students[40:]}
