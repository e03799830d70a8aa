"""A signed record package carries a student's whole record to another installation."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from portal.models import AuditLog
from students.admin import TrustedInstallationForm
from students.models import (
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
    RecordPackageImport,
    Student,
    TrustedInstallation,
)
from students.transfers.packages import PackageRefused, record_package_build, record_package_import
from students.transfers.signing import (
    fingerprint,
    public_key_pem,
    signing_key,
    signing_key_generate,
)
from tests.evaluation_export.conftest import Ledger, read_rows, run_batch
from tests.factories import PASSWORD, SchoolAdminFactory, SchoolClassFactory, StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVALUATION_EXPORT_DIR = tmp_path / "drop-folder"
    settings.PORTAL_SIGNING_KEY_FILE = tmp_path / "signing-key.pem"
    signing_key_generate(path=settings.PORTAL_SIGNING_KEY_FILE)


@pytest.fixture
def sent():
    """A package of 外区同学's records from 'the other installation', trusted here.

    One installation stands in for both: after signing, the sender's student takes another
    number, so the package's 学籍号 is new here, as on a real receiving installation.
    """
    student = StudentFactory(name="外区同学", student_number="G20259999")
    ledger = Ledger()
    exported = ledger.record(student)
    run_batch()  # the sender exports this one before the student leaves
    corrected = ledger.record(student)
    ledger.correct(corrected, minutes=120)
    waiting = ledger.record(student, final=False)
    content = record_package_build(student=student, user=None)
    Student.objects.filter(pk=student.pk).update(student_number="G20250000OLD")
    TrustedInstallation.objects.create(
        name="嘉定区实践平台",
        public_key=public_key_pem(signing_key().public_key()),
        fingerprint=fingerprint(signing_key().public_key()),
    )
    receiving = SchoolClassFactory(school__name="接收中学", entry_year=2025)
    admin = SchoolAdminFactory(school=receiving.school).user
    return content, receiving, admin, (exported, corrected, waiting)


def upload(client, admin, content, school_class):
    assert client.login(username=admin.username, password=PASSWORD)
    return client.post(
        "/transfers/package/upload/",
        {
            "package": SimpleUploadedFile("package.json", content, "application/json"),
            "school_class": school_class.pk,
        },
        follow=True,
    )


def test_a_package_takes_the_student_in_with_records_versions_and_provenance(client, sent):
    content, receiving, admin, (exported, corrected, waiting) = sent
    page = upload(client, admin, content, receiving).content.decode()
    assert "3" in page and "嘉定区实践平台" in page
    student = Student.objects.get(student_number="G20259999")
    assert student.school_class == receiving and student.name == "外区同学"
    records = {r.origin.origin_record_id: r for r in PracticeRecord.objects.filter(student=student)}
    assert set(records) == {str(exported.pk), str(corrected.pk), str(waiting.pk)}
    moved = records[str(corrected.pk)]
    assert (moved.version, moved.credited_minutes, moved.status) == (2, 120, "final")
    assert moved.recorded_via == RecordedVia.TRANSFER
    assert moved.origin.installation.name == "嘉定区实践平台"
    assert moved.origin.source_ref == corrected.source_ref
    assert moved.origin.recorded_via == corrected.recorded_via
    assert list(moved.versions.values_list("version", "credited_minutes")) == [(1, 180), (2, 120)]
    assert records[str(waiting.pk)].status == "in_notice"
    assert records[str(exported.pk)].origin.exported_version == 1
    assert AuditLog.objects.filter(action="record_package.import").count() == 1
    detail = client.get(f"/records/{moved.pk}/").content.decode()
    assert "转自嘉定区实践平台" in detail


def test_importing_the_same_package_twice_changes_nothing(client, sent):
    content, receiving, admin, _records = sent
    upload(client, admin, content, receiving)
    counts = (PracticeRecord.objects.count(), PracticeRecordVersion.objects.count())
    page = upload(client, admin, content, receiving).content.decode()
    assert (PracticeRecord.objects.count(), PracticeRecordVersion.objects.count()) == counts
    assert RecordPackageImport.objects.count() == 1
    assert "已导入" in page or "already imported" in page


def _nothing_written(before):
    assert PracticeRecord.objects.count() == before
    assert not Student.objects.filter(student_number="G20259999").exists()
    assert not RecordPackageImport.objects.exists()


@pytest.mark.parametrize("where", ["minutes", "name", "space", "signature"])
def test_a_package_with_one_byte_changed_is_refused_and_nothing_written(sent, where):
    content, receiving, admin, _records = sent
    before = PracticeRecord.objects.count()
    if where == "minutes":
        at = content.index(b'"credited_minutes":120') + len('"credited_minutes":1')
        tampered = content[:at] + b"8" + content[at + 1 :]
    elif where == "name":
        tampered = content.replace("外区同学".encode(), "外区同字".encode(), 1)
    elif where == "space":
        tampered = content.replace(b'":', b'": ', 1)
    else:
        at = content.index(b'"signature":"') + len('"signature":"') + 5
        tampered = content[:at] + bytes([content[at] ^ 1]) + content[at + 1 :]
    assert len(tampered) - len(content) in (0, 1)
    with pytest.raises(PackageRefused) as refused:
        record_package_import(content=tampered, school_class=receiving, imported_by=admin)
    assert refused.value.code in {"bad_signature", "not_canonical"}
    _nothing_written(before)


def test_the_upload_page_says_why_a_tampered_package_is_refused(client, sent):
    content, receiving, admin, _records = sent
    tampered = content.replace(b'"credited_minutes":120', b'"credited_minutes":170', 1)
    page = upload(client, admin, tampered, receiving).content.decode()
    assert "签名" in page
    assert not Student.objects.filter(student_number="G20259999").exists()


def test_an_unknown_key_or_a_wrong_format_is_refused(sent, tmp_path):
    content, receiving, admin, _records = sent
    before = PracticeRecord.objects.count()
    TrustedInstallation.objects.update(active=False)
    with pytest.raises(PackageRefused) as unknown:
        record_package_import(content=content, school_class=receiving, imported_by=admin)
    assert unknown.value.code == "unknown_signer"
    for bad, code in [
        (b"%PDF-1.4 not json", "wrong_type"),
        (b"\xff\xfe{}", "not_json"),
        (json.dumps({"records": []}).encode(), "wrong_format"),
    ]:
        with pytest.raises(PackageRefused if code == "wrong_format" else Exception) as wrong:
            record_package_import(content=bad, school_class=receiving, imported_by=admin)
        assert wrong.value.code == code
    _nothing_written(before)


def test_a_package_too_large_is_refused_before_it_is_read(sent, settings):
    content, receiving, admin, _records = sent
    settings.RECORD_PACKAGE_MAX_BYTES = len(content) - 1
    with pytest.raises(Exception) as refused:
        record_package_import(content=content, school_class=receiving, imported_by=admin)
    assert refused.value.code == "too_large"


def test_what_the_sender_exported_is_not_exported_again_the_rest_once(client, sent):
    content, receiving, admin, (exported, corrected, waiting) = sent
    Ledger().finalise(waiting)
    # Here "the sender" shares the database: its records are exported by its own run first.
    run_batch()
    upload(client, admin, content, receiving)
    student = Student.objects.get(student_number="G20259999")
    rows = read_rows(run_batch().file.path)
    sent_ids = {r["record_id"] for r in rows}
    mine = {r.origin.origin_record_id: str(r.pk) for r in student.records.all()}
    # Exported by the sender before packing: the package says so, it is not sent again.
    assert mine[str(exported.pk)] not in sent_ids
    # Not yet exported when packed: this installation sends it, once.
    assert mine[str(corrected.pk)] in sent_ids
    # In notice when packed: in notice here too, so not sent yet.
    assert mine[str(waiting.pk)] not in sent_ids
    assert read_rows(run_batch().file.path) == []


def test_the_command_writes_a_package_and_the_public_key_is_downloadable(client, sent, tmp_path):
    content, receiving, admin, _records = sent
    target = tmp_path / "out.json"
    call_command("record_package_export", "G20250000OLD", "-o", str(target))
    assert json.loads(target.read_bytes())["payload"]["student"]["name"] == "外区同学"
    response = client.get("/transfers/public-key.pem")
    assert response.status_code == 200 and b"BEGIN PUBLIC KEY" in response.content


def test_the_city_admin_adds_a_trusted_key_checked_and_fingerprinted(sent, tmp_path):
    form = TrustedInstallationForm(data={"name": "x", "public_key": "not a key", "active": True})
    assert not form.is_valid() and "public_key" in form.errors
    key = signing_key_generate(path=tmp_path / "other.pem")
    form = TrustedInstallationForm(
        data={"name": "闵行", "public_key": public_key_pem(key.public_key()), "active": True}
    )
    assert form.is_valid(), form.errors
    assert form.save().fingerprint == fingerprint(key.public_key())


def test_the_download_answers_404_for_a_student_of_another_school(client, sent):
    content, receiving, admin, _records = sent
    other = StudentFactory(student_number="G20258888")
    assert client.login(username=admin.username, password=PASSWORD)
    assert client.get("/transfers/package/?student_number=G20258888").status_code == 404
    own = StudentFactory(school_class=receiving, student_number="G20257777")
    response = client.get("/transfers/package/?student_number=g20257777")
    assert response.status_code == 200 and other.pk != own.pk


def test_the_city_admin_trusts_an_installation_in_django_admin(client, tmp_path):
    from portal.models import Role
    from tests.factories import UserFactory

    city = UserFactory(role=Role.CITY_ADMIN, is_staff=True, is_superuser=True)
    assert client.login(username=city.username, password=PASSWORD)
    key = signing_key_generate(path=tmp_path / "other.pem").public_key()
    response = client.post(
        "/admin/students/trustedinstallation/add/",
        {"name": "闵行区平台", "public_key": public_key_pem(key), "active": "on"},
    )
    assert response.status_code == 302
    assert TrustedInstallation.objects.get(name="闵行区平台").fingerprint == fingerprint(key)


def test_record_origin_once_per_installation_and_sender_id(client, sent):
    from django.db import IntegrityError, transaction

    from students.models import RecordOrigin

    content, receiving, admin, _records = sent
    upload(client, admin, content, receiving)
    origin = RecordOrigin.objects.first()
    other = PracticeRecord.objects.exclude(pk=origin.record_id).exclude(origin__isnull=False)
    with pytest.raises(IntegrityError, match="record_origin_once|UNIQUE"), transaction.atomic():
        RecordOrigin.objects.create(
            record=other.first(),
            package=origin.package,
            installation=origin.installation,
            origin_record_id=origin.origin_record_id,
            source_ref="x",
            recorded_via="roster",
            organiser_ref="",
        )
