"""The roster page: check-in and check-out by button or code, the offline sync endpoint, all
present, walk-ins, closing, corrections with their history, and the coordinator's dashboard."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bases.models import ApplicationStatus, Attendance, AttendanceScan
from bases.services.attendance import (
    Scan,
    attendance_scan_record,
    session_attendance_close,
)
from portal.models import AuditLog, Role
from students.models import PracticeRecord
from tests.factories import (
    ApplicationFactory,
    CoordinatorFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
)
from tests.queries import queries_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _session_this_morning(**fields):
    start = (timezone.localtime() - timedelta(hours=5)).replace(second=0, microsecond=0)
    values = {
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "applications_open_at": start - timedelta(days=10),
        "applications_close_at": start - timedelta(days=1),
    }
    values.update(fields)
    return SessionFactory(**values)


@pytest.fixture
def session():
    """A session that ran this morning (09:00-12:00 five hours ago), two students confirmed."""
    session = _session_this_morning(taken=2)
    ApplicationFactory(session=session, student__name="李明")
    ApplicationFactory(session=session, student__name="王芳")
    return session


@pytest.fixture
def owned(session):
    """The owner is a coordinator of the session's base; the outsider, of another base."""
    return session


@pytest.fixture
def li(session):
    return session.applications.get(student__name="李明").student


@pytest.fixture
def wang(session):
    return session.applications.get(student__name="王芳").student


def _url(name, session, *args):
    return reverse(f"bases:{name}", args=[session.pk, *args])


def _at(session, minutes: int) -> str:
    return timezone.localtime(session.starts_at + timedelta(minutes=minutes)).isoformat()


def _sync(client, session, items):
    return client.post(
        _url("roster-sync", session), json.dumps({"items": items}), content_type="application/json"
    )


def _attendance(session, student) -> Attendance:
    return Attendance.objects.get(session=session, student=student)


class TestWhoSeesTheRoster:
    def test_the_owner_sees_names_classes_and_masked_numbers_only(self, client, owner, li):
        client.force_login(owner)
        response = client.get(_url("session-roster", session=li.applications.get().session))
        page = response.content.decode()
        assert response.status_code == 200
        assert "李明" in page and "王芳" in page
        assert li.masked_student_number in page
        assert li.student_number not in page
        assert li.personal_code not in page  # matched offline by its SHA-256 only

    def test_another_bases_coordinator_gets_404_everywhere(self, client, session, outsider, li):
        client.force_login(outsider)
        assert client.get(_url("session-roster", session)).status_code == 404
        for name in ("roster-record", "roster-all-present", "roster-walk-in", "roster-close"):
            assert client.post(_url(name, session), {"student": li.pk}).status_code == 404
        assert client.post(_url("roster-correct", session, li.pk)).status_code == 404
        response = _sync(client, session, [])
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
        assert not AttendanceScan.objects.exists()

    def test_a_student_gets_404(self, client, session, li):
        client.force_login(li.user)
        assert client.get(_url("session-roster", session)).status_code == 404
        assert _sync(client, session, []).status_code == 404

    def test_signed_out_the_page_asks_to_sign_in_and_the_sync_answers_401(self, client, session):
        assert client.get(_url("session-roster", session)).status_code == 302
        response = _sync(client, session, [])
        assert (response.status_code, response.json()["code"]) == (401, "login_required")

    def test_a_session_that_does_not_exist_is_404(self, client, owner):
        client.force_login(owner)
        assert client.get(reverse("bases:session-roster", args=[999999])).status_code == 404

    def test_the_page_makes_a_fixed_number_of_queries(
        self, client, owner, session, django_assert_max_num_queries
    ):
        client.force_login(owner)

        def check_everyone_in() -> None:
            for application in session.applications.select_related("student"):
                attendance_scan_record(
                    session=session,
                    scan=Scan(
                        nonce=f"q-in-{application.pk:06d}",
                        student=application.student,
                        kind="in",
                        happened_at=session.starts_at,
                    ),
                    source="roster",
                    recorded_by=owner,
                )

        def count_queries() -> int:
            # session, user, the session, applications, attendance, corrections, policy
            with django_assert_max_num_queries(7) as captured:
                assert client.get(_url("session-roster", session)).status_code == 200
            return len(captured)

        check_everyone_in()
        few = count_queries()
        for _n in range(25):
            ApplicationFactory(session=session)
        check_everyone_in()
        assert count_queries() == few

    def test_the_closed_page_with_corrections_makes_a_fixed_number_of_queries(
        self, client, owner, session
    ):
        client.force_login(owner)
        bigger = _session_this_morning(post__base=session.post.base, taken=12)
        ApplicationFactory.create_batch(12, session=bigger)

        def closed_and_corrected(each):
            client.post(_url("roster-all-present", each))
            client.post(_url("roster-close", each))
            for student in [a.student for a in each.applications.all()]:
                client.post(
                    _url("roster-correct", each, student.pk),
                    _correction(student, each, minutes_in=10, reason="迟到"),
                )
            return queries_for(lambda: client.get(_url("session-roster", each)))

        small, response = closed_and_corrected(session)
        assert len(response.context["corrections"]) == 2
        large, response = closed_and_corrected(bigger)
        assert len(response.context["corrections"]) == 12
        assert small == large <= 8


class TestRecordingWithoutScript:
    def test_a_button_checks_a_student_in_now(self, client, owner, session, li):
        client.force_login(owner)
        before = timezone.now()
        response = client.post(_url("roster-record", session), {"student": li.pk, "kind": "in"})
        assert response.status_code == 302
        attendance = _attendance(session, li)
        assert before <= attendance.checked_in_at <= timezone.now()
        assert AttendanceScan.objects.get().source == "roster"
        page = client.get(response.url).content.decode()
        assert "李明: check-in" in page

    def test_a_personal_code_checks_in_then_out(self, client, owner, session, li):
        client.force_login(owner)
        client.post(
            _url("roster-sync", session),
            {
                "items": [
                    {"nonce": "early-in-1", "student": li.pk, "kind": "in", "time": _at(session, 0)}
                ]
            },
            content_type="application/json",
        )
        client.post(_url("roster-record", session), {"code": f" {li.personal_code.lower()} "})
        kinds = list(AttendanceScan.objects.values_list("kind", "source"))
        assert kinds == [("in", "roster"), ("out", "scan")]

    def test_a_second_code_scan_seconds_later_is_already_recorded(self, client, owner, session, li):
        client.force_login(owner)
        client.post(_url("roster-record", session), {"code": li.personal_code})
        response = client.post(
            _url("roster-record", session), {"code": li.personal_code}, follow=True
        )
        assert "already recorded" in response.content.decode()
        assert list(AttendanceScan.objects.values_list("kind", flat=True)) == ["in"]
        assert _attendance(session, li).checked_out_at is None

    def test_a_short_check_out_asks_to_confirm_then_records(self, client, owner, session, li):
        client.force_login(owner)
        # Checked in now, after the session ended: checking out would credit 0 minutes.
        client.post(_url("roster-record", session), {"student": li.pk, "kind": "in"})
        AttendanceScan.objects.update(happened_at=timezone.now() - timedelta(minutes=2))
        response = client.post(_url("roster-record", session), {"student": li.pk, "kind": "out"})
        assert response.status_code == 409
        assert "Confirm the check-out" in response.content.decode()
        assert _attendance(session, li).checked_out_at is None
        response = client.post(
            _url("roster-record", session), {"student": li.pk, "kind": "out", "confirm_short": "on"}
        )
        assert response.status_code == 302
        assert _attendance(session, li).checked_out_at is not None

    def test_the_student_number_works_as_well(self, client, owner, session, wang):
        client.force_login(owner)
        client.post(_url("roster-record", session), {"code": wang.student_number})
        assert AttendanceScan.objects.get().student == wang

    def test_an_unknown_code_is_refused_with_a_message(self, client, owner, session):
        client.force_login(owner)
        stranger = StudentFactory()
        response = client.post(
            _url("roster-record", session), {"code": stranger.personal_code}, follow=True
        )
        assert "No student on this roster has the code" in response.content.decode()
        assert not AttendanceScan.objects.exists()

    def test_all_present_records_the_session_times(self, client, owner, session, li, wang):
        client.force_login(owner)
        response = client.post(_url("roster-all-present", session), follow=True)
        assert "2 students marked present" in response.content.decode()
        for student in (li, wang):
            attendance = _attendance(session, student)
            assert (attendance.checked_in_at, attendance.checked_out_at) == (
                session.starts_at,
                session.ends_at,
            )


class TestSync:
    def test_each_nonce_records_once_and_a_resend_answers_repeated(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        items = [
            {"nonce": "nonce-in-0001", "student": li.pk, "kind": "in", "time": _at(session, 5)},
            {"nonce": "nonce-out-001", "student": li.pk, "kind": "out", "time": _at(session, 175)},
        ]
        first = _sync(client, session, items).json()
        again = _sync(client, session, list(reversed(items))).json()
        assert [r["status"] for r in first["results"]] == ["created", "created"]
        assert [r["status"] for r in again["results"]] == ["repeated", "repeated"]
        assert AttendanceScan.objects.count() == 2
        assert first["rows"][str(li.pk)]["in"] == timezone.localtime(
            session.starts_at + timedelta(minutes=5)
        ).strftime("%H:%M")
        assert first["results"][0]["message"].startswith("李明: check-in")

    def test_the_time_recorded_is_the_time_it_happened(self, client, owner, session, li):
        client.force_login(owner)
        happened = session.starts_at + timedelta(minutes=7, seconds=12, milliseconds=345)
        _sync(
            client,
            session,
            [
                {
                    "nonce": "nonce-t-0001",
                    "student": li.pk,
                    "kind": "in",
                    "time": happened.isoformat(),
                }
            ],
        )
        assert AttendanceScan.objects.get().happened_at == happened

    def test_a_check_out_sent_before_its_check_in_pairs(self, client, owner, session, li):
        client.force_login(owner)
        out = {"nonce": "nonce-out-002", "student": li.pk, "kind": "out", "time": _at(session, 170)}
        check_in = {
            "nonce": "nonce-in-002",
            "student": li.pk,
            "kind": "in",
            "time": _at(session, 0),
        }
        _sync(client, session, [out])
        body = _sync(client, session, [check_in]).json()
        assert body["rows"][str(li.pk)]["out"] != ""
        attendance = _attendance(session, li)
        assert attendance.checked_out_at - attendance.checked_in_at == timedelta(minutes=170)

    def test_a_code_decides_in_or_out_and_keeps_its_kind_on_resend(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        scans = [
            {"nonce": "code-0001", "code": li.personal_code, "time": _at(session, 2)},
            {"nonce": "code-0002", "code": li.student_number, "time": _at(session, 178)},
        ]
        first = _sync(client, session, scans).json()["results"]
        again = _sync(client, session, scans).json()["results"]
        assert [(r["status"], r["kind"]) for r in first] == [("created", "in"), ("created", "out")]
        assert [(r["status"], r["kind"]) for r in again] == [
            ("repeated", "in"),
            ("repeated", "out"),
        ]
        assert AttendanceScan.objects.get(nonce="code-0002").source == "scan"

    def test_refused_items_come_back_with_a_code_and_the_rest_is_recorded(
        self, client, owner, session, li, wang
    ):
        client.force_login(owner)
        stranger = StudentFactory()
        body = _sync(
            client,
            session,
            [
                {"nonce": "ok-000001", "student": li.pk, "kind": "in", "time": _at(session, 0)},
                {
                    "nonce": "far-00001",
                    "student": wang.pk,
                    "kind": "in",
                    "time": _at(session, -600),
                },
                {
                    "nonce": "who-00001",
                    "student": stranger.pk,
                    "kind": "in",
                    "time": _at(session, 0),
                },
                {"nonce": "bad-00001", "student": li.pk, "kind": "in", "time": "09:00"},
                {"nonce": "ok-000001", "student": li.pk, "kind": "in", "time": _at(session, 9)},
            ],
        ).json()
        statuses = [(r["status"], r.get("code")) for r in body["results"]]
        assert statuses == [
            ("created", None),
            ("error", "time_outside_session"),
            ("error", "unknown"),
            ("error", "invalid"),
            ("error", "nonce_reused"),
        ]
        assert body["results"][1]["message"].startswith("王芳: ")
        assert AttendanceScan.objects.count() == 1

    def test_a_refused_scan_inside_a_batch_leaves_the_others_of_that_student_whole(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        body = _sync(
            client,
            session,
            [
                {"nonce": "mix-00001", "student": li.pk, "kind": "out", "time": _at(session, -300)},
                {"nonce": "mix-000002", "student": li.pk, "kind": "in", "time": _at(session, 4)},
                {"nonce": "mix-000002", "student": li.pk, "kind": "in", "time": _at(session, 4)},
                {"nonce": "mix-000003", "student": li.pk, "kind": "out", "time": _at(session, 176)},
                {"nonce": "mix-000002", "student": li.pk, "kind": "out", "time": _at(session, 9)},
            ],
        ).json()
        assert [(r["status"], r.get("code")) for r in body["results"]] == [
            ("error", "time_outside_session"),
            ("created", None),
            ("repeated", None),
            ("created", None),
            ("error", "nonce_reused"),
        ]
        attendance = _attendance(session, li)
        assert attendance.checked_out_at - attendance.checked_in_at == timedelta(minutes=172)
        assert AttendanceScan.objects.count() == 2

    def test_all_present_can_wait_in_the_queue(self, client, owner, session, li, wang):
        client.force_login(owner)
        body = _sync(
            client,
            session,
            [
                {"nonce": "early-li-1", "student": li.pk, "kind": "in", "time": _at(session, -10)},
                {"nonce": "all-present-1", "action": "all_present", "time": _at(session, 180)},
            ],
        ).json()
        assert [r["status"] for r in body["results"]] == ["created", "created"]
        assert _attendance(session, li).checked_in_at == session.starts_at - timedelta(minutes=10)
        assert _attendance(session, wang).checked_out_at == session.ends_at

    def test_after_closing_a_resend_still_answers_repeated_and_new_scans_are_refused(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        sent = [
            {"nonce": "before-c-1", "student": li.pk, "kind": "in", "time": _at(session, 0)},
            {"nonce": "before-c-2", "student": li.pk, "kind": "out", "time": _at(session, 60)},
        ]
        _sync(client, session, sent)
        session_attendance_close(session=session, closed_by=owner)
        late = {"nonce": "after-c-01", "student": li.pk, "kind": "out", "time": _at(session, 90)}
        body = _sync(client, session, [*sent, late]).json()
        assert [(r["status"], r.get("code")) for r in body["results"]] == [
            ("repeated", None),
            ("repeated", None),
            ("error", "closed"),
        ]
        assert body["closed"] is True

    def test_a_malformed_body_is_refused_as_a_whole(self, client, owner, session):
        client.force_login(owner)
        url = _url("roster-sync", session)
        bad = client.post(url, "{not json", content_type="application/json")
        assert (bad.status_code, bad.json()["code"]) == (400, "invalid_json")
        items = [
            {"nonce": f"n-{n:08d}", "action": "all_present", "time": _at(session, 0)}
            for n in range(501)
        ]
        too_many = _sync(client, session, items)
        assert (too_many.status_code, too_many.json()["code"]) == (400, "too_many_items")
        assert client.get(url).status_code == 405

    def test_the_sync_needs_the_pages_csrf_token(self, owner, session, li):
        csrf_client = Client(enforce_csrf_checks=True)
        csrf_client.force_login(owner)
        item = {"nonce": "csrf-0001", "student": li.pk, "kind": "in", "time": _at(session, 0)}
        assert _sync(csrf_client, session, [item]).status_code == 403
        page = csrf_client.get(_url("session-roster", session))
        token = page.context["csrf_token"]
        response = csrf_client.post(
            _url("roster-sync", session),
            json.dumps({"items": [item]}),
            content_type="application/json",
            headers={"X-CSRFToken": str(token)},
        )
        assert response.status_code == 200
        assert AttendanceScan.objects.count() == 1


class TestWalkIns:
    def test_a_student_is_added_with_a_reason_and_it_is_audited(self, client, owner, session):
        client.force_login(owner)
        walk_in = StudentFactory(name="赵强")
        response = client.post(
            _url("roster-walk-in", session),
            {"student_number": walk_in.student_number, "reason": "替补同班同学"},
            follow=True,
        )
        page = response.content.decode()
        assert "赵强 added to the roster" in page
        assert response.context["walk_ins"][0].student == walk_in
        assert "替补同班同学" in page
        entry = AuditLog.objects.get(action="attendance.walk_in")
        assert (entry.actor, entry.data["reason"]) == (owner, "替补同班同学")
        # …and the walk-in can now be checked in like anyone else.
        client.post(_url("roster-record", session), {"code": walk_in.personal_code})
        assert _attendance(session, walk_in).checked_in_at is not None

    def test_an_unknown_number_or_no_reason_shows_the_error(self, client, owner, session):
        client.force_login(owner)
        unknown = client.post(
            _url("roster-walk-in", session), {"student_number": "X000000000", "reason": "原因"}
        )
        assert unknown.status_code == 400
        assert "No student has this student number." in unknown.content.decode()
        no_reason = client.post(
            _url("roster-walk-in", session),
            {"student_number": StudentFactory().student_number, "reason": "  "},
        )
        assert "Say why this student is added." in no_reason.content.decode()
        assert not Attendance.objects.exists()


def _correction(student, session, *, minutes_in=0, minutes_out=180, minutes=None, reason="原因"):
    def local(m):
        return timezone.localtime(session.starts_at + timedelta(minutes=m)).strftime(
            "%Y-%m-%dT%H:%M"
        )

    prefix = f"c{student.pk}"
    return {
        f"{prefix}-checked_in_at": local(minutes_in),
        f"{prefix}-checked_out_at": local(minutes_out),
        f"{prefix}-credited_minutes": "" if minutes is None else str(minutes),
        f"{prefix}-reason": reason,
    }


class TestClosingAndCorrections:
    def test_closing_is_refused_while_someone_is_not_checked_out_and_names_them(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        client.post(_url("roster-record", session), {"student": li.pk, "kind": "in"})
        page = client.get(_url("session-roster", session)).content.decode()
        assert 'data-testid="missing-checkout"' in page
        response = client.post(_url("roster-close", session), follow=True)
        assert "Check out everyone present before closing: 李明." in response.content.decode()
        session.refresh_from_db()
        assert session.attendance_closed_at is None

    def test_after_closing_rows_show_minutes_and_a_correction_form(
        self, client, owner, session, li, wang
    ):
        client.force_login(owner)
        _sync(
            client,
            session,
            [
                {"nonce": "li-in-0001", "student": li.pk, "kind": "in", "time": _at(session, 30)},
                {"nonce": "li-out-001", "student": li.pk, "kind": "out", "time": _at(session, 150)},
            ],
        )
        response = client.post(_url("roster-close", session), follow=True)
        page = response.content.decode()
        assert "Attendance closed: 1 records are now in public notice." in page
        rows = {row.student: row for row in response.context["confirmed"]}
        assert rows[li].attendance.credited_minutes == 120
        assert rows[wang].application_status == ApplicationStatus.NO_SHOW
        assert page.count('data-testid="correct-form"') == 2
        assert 'data-testid="check-in"' not in page

    def test_a_correction_makes_a_new_version_and_shows_in_the_history(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        client.post(_url("roster-all-present", session))
        client.post(_url("roster-close", session))
        response = client.post(
            _url("roster-correct", session, li.pk),
            _correction(li, session, minutes_out=120, reason="提前离开"),
            follow=True,
        )
        record = PracticeRecord.objects.get(student=li)
        assert (record.version, record.credited_minutes) == (2, 120)
        assert record.versions.get(version=2).reason == "提前离开"
        [history] = response.context["corrections"]
        assert (history["student"], history["reason"], history["actor"]) == (
            "李明",
            "提前离开",
            owner.get_full_name(),
        )
        assert (history["before"]["minutes"], history["after"]["minutes"]) == (180, 120)
        assert 'data-testid="corrected"' in response.content.decode()

    def test_a_student_recorded_absent_can_be_corrected_into_the_ledger(
        self, client, owner, session, wang
    ):
        client.force_login(owner)
        client.post(_url("roster-close", session))
        client.post(
            _url("roster-correct", session, wang.pk),
            _correction(wang, session, minutes_in=0, minutes_out=180, minutes=150, reason="漏签"),
        )
        assert PracticeRecord.objects.get(student=wang).credited_minutes == 150
        assert session.applications.get(student=wang).status == ApplicationStatus.ATTENDED

    def test_a_no_show_corrected_into_attended_keeps_the_reason_in_the_records_history(
        self, client, owner, session, wang
    ):
        client.force_login(owner)
        client.post(_url("roster-close", session))
        client.post(
            _url("roster-correct", session, wang.pk),
            _correction(wang, session, minutes_out=180, reason="签到机故障，已核实"),
        )
        record = PracticeRecord.objects.get(student=wang)
        assert [(v.version, v.reason) for v in record.versions.all()] == [(1, "签到机故障，已核实")]
        client.force_login(wang.user)
        page = client.get(reverse("students:record-detail", args=[record.pk])).content.decode()
        history = page.split('data-testid="versions"')[1]
        assert "签到机故障，已核实" in history

    def test_a_correction_without_a_reason_or_beyond_the_session_is_refused(
        self, client, owner, session, li
    ):
        client.force_login(owner)
        client.post(_url("roster-all-present", session))
        client.post(_url("roster-close", session))
        no_reason = client.post(
            _url("roster-correct", session, li.pk), _correction(li, session, reason="")
        )
        assert no_reason.status_code == 400
        assert "A correction needs a reason." in no_reason.content.decode()
        too_much = client.post(
            _url("roster-correct", session, li.pk), _correction(li, session, minutes=500)
        )
        assert "Credited minutes must lie between 0 and 180" in too_much.content.decode()
        assert PracticeRecord.objects.get(student=li).version == 1

    def test_a_student_not_on_the_roster_cannot_be_corrected(self, client, owner, session):
        client.force_login(owner)
        stranger = StudentFactory()
        response = client.post(
            _url("roster-correct", session, stranger.pk), _correction(stranger, session)
        )
        assert response.status_code == 404


class TestDashboard:
    def test_overdue_sessions_are_flagged_with_a_link_to_their_roster(self, client, session):
        coordinator = CoordinatorFactory(base=session.post.base).user
        start = timezone.now() - timedelta(days=3)
        overdue = _session_this_morning(
            post=session.post, starts_at=start, ends_at=start + timedelta(hours=2)
        )
        ApplicationFactory(session=overdue)
        client.force_login(coordinator)
        response = client.get(reverse("dashboards:dashboard-coordinator"))
        page = response.content.decode()
        assert 'data-testid="overdue-sessions"' in page
        assert _url("session-roster", overdue) in page
        assert list(response.context["overdue_sessions"]) == [overdue]
        assert 'data-testid="scope"' in page and 'data-testid="todo"' in page

    def test_todays_sessions_link_to_their_rosters(self, client):
        owner = CoordinatorFactory().user
        day_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        base = owner.coordinator_roles.get().base
        today = SessionFactory(
            post__base=base,
            starts_at=day_start + timedelta(hours=10),
            ends_at=day_start + timedelta(hours=13),
        )
        SessionFactory(post__base=base)  # next week
        SessionFactory(starts_at=day_start + timedelta(hours=10))  # another base
        client.force_login(owner)
        response = client.get(reverse("dashboards:dashboard-coordinator"))
        assert list(response.context["today_sessions"]) == [today]
        assert _url("session-roster", today) in response.content.decode()
        assert 'data-testid="overdue-sessions"' not in response.content.decode()

    def test_other_roles_do_not_see_the_coordinators_dashboard(self, client):
        client.force_login(UserFactory(role=Role.STUDENT))
        assert client.get(reverse("dashboards:dashboard-coordinator")).status_code == 404
