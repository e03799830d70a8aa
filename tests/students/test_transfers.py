"""A student moves to another school of the installation: asked, confirmed, records unchanged."""

import pytest
from django.utils import timezone

from evaluation_export.models import ExportedLine
from portal.models import AuditLog, Notification
from students.completion import district_report, school_report
from students.models import PracticeRecord, PracticeRecordVersion, Transfer, TransferStatus
from students.transfers.services import TransferError, transfer_confirm, transfer_request
from tests.constraint_helpers import refused
from tests.evaluation_export.conftest import Ledger, read_rows, run_batch
from tests.factories import (
    PASSWORD,
    SchoolAdminFactory,
    SchoolClassFactory,
    StudentFactory,
    district,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVALUATION_EXPORT_DIR = tmp_path / "drop-folder"


@pytest.fixture
def move():
    """A student of 徐汇中学 with records; 浦东中学 (another district) wants them."""
    old_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=1)
    new_class = SchoolClassFactory(
        school__name="浦东中学", school__district=district("310115"), entry_year=2025, number=2
    )
    student = StudentFactory(school_class=old_class, name="转学同学", student_number="G20250001")
    StudentFactory(school_class=old_class, name="留下同学", student_number="G20250002")
    old_admin = SchoolAdminFactory(school=old_class.school).user
    new_admin = SchoolAdminFactory(school=new_class.school).user
    return student, old_class, new_class, old_admin, new_admin


def sign_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_the_receiving_school_asks_and_the_sending_school_confirms(client, move):
    student, old_class, new_class, old_admin, new_admin = move
    ledger = Ledger()
    records = [ledger.record(student), ledger.record(student, final=False)]
    ledger.correct(records[0], minutes=150)
    before = list(
        PracticeRecord.objects.filter(student=student)
        .order_by("pk")
        .values("pk", "version", "organiser_ref", "source_ref", "credited_minutes", "status")
    )
    versions = PracticeRecordVersion.objects.filter(record__student=student).count()

    sign_in(client, new_admin)
    response = client.post(
        "/transfers/",
        {"student_number": "g20250001", "to_class": new_class.pk, "note": "家庭搬迁"},
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get(student=student)
    assert transfer.status == TransferStatus.REQUESTED
    assert Notification.objects.filter(user=old_admin, code="transfer.requested").exists()

    sign_in(client, old_admin)
    page = client.get("/transfers/").content.decode()
    assert "转学同学" in page
    client.post(f"/transfers/{transfer.pk}/confirm/")
    transfer.refresh_from_db()
    student.refresh_from_db()
    assert transfer.status == TransferStatus.CONFIRMED and transfer.decided_by == old_admin
    assert student.school_class == new_class
    assert (transfer.from_class, transfer.to_class) == (old_class, new_class)
    after = list(
        PracticeRecord.objects.filter(student=student)
        .order_by("pk")
        .values("pk", "version", "organiser_ref", "source_ref", "credited_minutes", "status")
    )
    assert after == before
    assert PracticeRecordVersion.objects.filter(record__student=student).count() == versions
    assert Notification.objects.filter(user=new_admin, code="transfer.confirmed").exists()
    assert Notification.objects.filter(user=student.user, code="transfer.done.student").exists()
    actions = set(
        AuditLog.objects.filter(object_type="students.transfer").values_list("action", flat=True)
    )
    assert actions == {"transfer.request", "transfer.confirm"}


def test_the_old_school_lists_the_student_apart_and_the_new_one_counts_them(client, move):
    student, old_class, new_class, old_admin, new_admin = move
    today = timezone.localdate()
    assert school_report(school=old_class.school, today=today).total.students == 2
    transfer = transfer_request(
        requested_by=new_admin, student_number="G20250001", to_class=new_class
    )
    transfer_confirm(transfer=transfer, confirmed_by=old_admin)

    assert school_report(school=old_class.school, today=today).total.students == 1
    assert school_report(school=new_class.school, today=today).total.students == 1
    by_school = {
        g.label: g.students for g in district_report(district=district("310115"), today=today)
    }
    assert by_school["浦东中学"] == 1
    sign_in(client, old_admin)
    html = client.get(f"/reports/schools/{old_class.school.pk}/").content.decode()
    section = html.split('data-testid="transferred-out"')[1]
    assert "转学同学" in section and "浦东中学" in section
    class_html = client.get(f"/reports/classes/{old_class.pk}/").content.decode()
    counted, apart = class_html.split('data-testid="transferred-out"')
    assert "转学同学" not in counted and "留下同学" in counted
    assert "转学同学" in apart
    # The old school no longer sees the student's own pages.
    assert client.get(f"/reports/students/{student.pk}/").status_code == 404
    sign_in(client, new_admin)
    assert client.get(f"/reports/students/{student.pk}/").status_code == 200


def test_the_sending_school_may_refuse_with_a_reason(client, move):
    student, old_class, new_class, old_admin, new_admin = move
    transfer = transfer_request(
        requested_by=new_admin, student_number="G20250001", to_class=new_class
    )
    sign_in(client, old_admin)
    client.post(f"/transfers/{transfer.pk}/refuse/", {"reason": ""})
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REQUESTED
    client.post(f"/transfers/{transfer.pk}/refuse/", {"reason": "学籍手续未完成"})
    transfer.refresh_from_db()
    student.refresh_from_db()
    assert transfer.status == TransferStatus.REFUSED and student.school_class == old_class
    note = Notification.objects.get(user=new_admin, code="transfer.refused")
    assert "学籍手续未完成" in note.text


def test_requests_are_refused_with_a_clear_reason(move):
    student, old_class, new_class, old_admin, new_admin = move
    with pytest.raises(TransferError) as unknown:
        transfer_request(requested_by=new_admin, student_number="G99999999", to_class=new_class)
    assert unknown.value.code == "unknown_student"
    other_year = SchoolClassFactory(school=new_class.school, entry_year=2024, number=5)
    with pytest.raises(TransferError) as year:
        transfer_request(requested_by=new_admin, student_number="G20250001", to_class=other_year)
    assert year.value.code == "entry_year"
    transfer_request(requested_by=new_admin, student_number="G20250001", to_class=new_class)
    with pytest.raises(TransferError) as twice:
        transfer_request(requested_by=new_admin, student_number="G20250001", to_class=new_class)
    assert twice.value.code == "already_requested"


def test_only_the_sending_school_confirms_and_others_get_404(client, move):
    student, old_class, new_class, old_admin, new_admin = move
    transfer = transfer_request(
        requested_by=new_admin, student_number="G20250001", to_class=new_class
    )
    with pytest.raises(TransferError):
        transfer_confirm(transfer=transfer, confirmed_by=new_admin)
    outsider = SchoolAdminFactory().user
    sign_in(client, outsider)
    assert client.get(f"/transfers/{transfer.pk}/").status_code == 404
    assert client.post(f"/transfers/{transfer.pk}/confirm/").status_code == 404
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REQUESTED


def test_nothing_is_exported_twice_and_the_rest_once_by_the_new_school(move):
    student, old_class, new_class, old_admin, new_admin = move
    ledger = Ledger()
    sent = ledger.record(student)
    first = run_batch()
    assert [r["record_id"] for r in read_rows(first.file.path)] == [str(sent.pk)]
    waiting = ledger.record(student, final=False)
    transfer = transfer_request(
        requested_by=new_admin, student_number="G20250001", to_class=new_class
    )
    transfer_confirm(transfer=transfer, confirmed_by=old_admin)
    ledger.finalise(waiting)

    second = run_batch()
    rows = read_rows(second.file.path)
    assert [r["record_id"] for r in rows] == [str(waiting.pk)]
    assert rows[0]["school_name"] == "浦东中学" and rows[0]["operation"] == "new"
    assert read_rows(run_batch().file.path) == []
    assert ExportedLine.objects.filter(record__student=student).count() == 2


class TestConstraints:
    """The database itself refuses a transfer row that breaks the rules."""

    def _row(self, move, **changes):
        student, old_class, new_class, old_admin, new_admin = move
        values = {
            "student": student,
            "from_school": old_class.school,
            "from_class": old_class,
            "to_school": new_class.school,
            "to_class": new_class,
            "requested_by": new_admin,
            **changes,
        }
        return Transfer(**values)

    def test_one_open_transfer_per_student(self, move):
        self._row(move).save()
        with refused(Transfer, "one_open_transfer_per_student"):
            self._row(move).save()

    def test_transfer_between_schools(self, move):
        student, old_class, *_ = move
        with refused(Transfer, "transfer_between_schools"):
            self._row(move, to_school=old_class.school, to_class=old_class).save()

    def test_transfer_decision_recorded(self, move):
        with refused(Transfer, "transfer_decision_recorded"):
            self._row(move, status=TransferStatus.CONFIRMED).save()

    def test_transfer_refusal_has_reason(self, move):
        *_, old_admin, _new = move
        with refused(Transfer, "transfer_refusal_has_reason"):
            self._row(
                move, status="refused", decided_by=old_admin, decided_at=timezone.now()
            ).save()

    def test_transfer_status_valid(self, move):
        with refused(Transfer, "transfer_status_valid"):
            self._row(move, status="lost", decided_by=move[3], decided_at=timezone.now()).save()
