"""The city admin starts a batch, follows its progress and downloads the file; others get 404."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from evaluation_export import tasks
from evaluation_export.models import AckStatus, BatchKind, BatchStatus, ExportBatch
from evaluation_export.services import export_batch_create, export_batch_run
from portal.models import AuditLog, OutboxMessage, Role
from tests.factories import PASSWORD, CoordinatorFactory, SchoolAdminFactory, UserFactory
from tests.outbox import sent_kwargs
from tests.queries import queries_for

from .conftest import run_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def city_client(client, ledger):
    client.login(username=ledger.city_admin.username, password=PASSWORD)
    return client


def test_the_page_lists_batches_and_offers_a_run(city_client, ledger):
    ledger.record()
    batch = run_batch()
    response = city_client.get(reverse("evaluation_export:batch-list"))
    assert response.status_code == 200
    assert batch.period_label in response.text
    assert 'data-testid="batch-row"' in response.text


def test_starting_a_batch_creates_this_weeks_batch_and_queues_its_run(
    city_client, ledger, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "evaluation_export.services.batches._queue_run_and_delivery",
        lambda batch_id: queued.append(batch_id),
    )
    response = city_client.post(
        reverse("evaluation_export:batch-start"), {"kind": "delta", "format": "csv"}
    )
    batch = ExportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("evaluation_export:batch-detail", args=[batch.pk])
    assert (batch.kind, batch.format, batch.requested_by) == ("delta", "csv", ledger.city_admin)
    assert queued == [batch.pk]
    again = city_client.post(
        reverse("evaluation_export:batch-start"), {"kind": "delta", "format": "xlsx"}
    )
    assert again.url == response.url
    assert ExportBatch.objects.count() == 1


def test_starting_queues_the_run_then_the_delivery_after_commit(
    city_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        city_client.post(
            reverse("evaluation_export:batch-start"), {"kind": "full", "format": "xlsx"}
        )
    batch = ExportBatch.objects.get()
    (message,) = OutboxMessage.objects.filter(sent_at__isnull=False)
    steps = [(message.task_name, message.kwargs)] + [
        (step["task"], step["kwargs"]) for step in message.then
    ]
    assert steps == [
        ("evaluation_export.tasks.export_batch_run", {"batch_id": batch.pk}),
        ("evaluation_export.tasks.export_batch_deliver", {"batch_id": batch.pk}),
    ]


def test_the_status_endpoint_reports_progress_for_the_bar(city_client, ledger):
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    ExportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, rows_done=250, row_count=1000
    )
    data = city_client.get(reverse("evaluation_export:batch-status", args=[batch.pk])).json()
    assert data["status"] == "running"
    assert (data["rows_done"], data["row_count"], data["percent"]) == (250, 1000, 25)
    assert data["finished"] is False
    assert data["download_url"] == ""


def test_the_detail_page_polls_until_done_then_offers_the_download(city_client, ledger):
    ledger.record()
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    running = city_client.get(reverse("evaluation_export:batch-detail", args=[batch.pk]))
    assert 'data-finished="false"' in running.text
    assert "batch_progress.js" in running.text
    assert 'data-testid="download"' not in running.text
    export_batch_run(batch_id=batch.pk)
    done = city_client.get(reverse("evaluation_export:batch-detail", args=[batch.pk]))
    assert 'data-finished="true"' in done.text
    assert 'data-testid="download"' in done.text
    assert 'data-testid="count-new">1<' in done.text
    data = city_client.get(reverse("evaluation_export:batch-status", args=[batch.pk])).json()
    assert data["percent"] == 100
    assert data["download_url"] == reverse("evaluation_export:batch-download", args=[batch.pk])


def test_a_download_gives_the_file_and_is_audited(city_client, ledger):
    ledger.record()
    batch = run_batch(fmt="xlsx")
    response = city_client.get(reverse("evaluation_export:batch-download", args=[batch.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == Path(batch.file.path).read_bytes()
    assert "evaluation-export-" in response["Content-Disposition"]
    entry = AuditLog.objects.get(action="export.download")
    assert (entry.actor, entry.object_id) == (ledger.city_admin, str(batch.pk))


def test_a_batch_without_its_file_yet_cannot_be_downloaded(city_client):
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    response = city_client.get(reverse("evaluation_export:batch-download", args=[batch.pk]))
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="export.download").exists()


def test_the_rejected_lines_page_shows_the_receivers_reason(city_client, ledger):
    record = ledger.record()
    batch = run_batch()
    batch.lines.update(ack_status=AckStatus.REJECTED, ack_reason="学籍号不存在")
    response = city_client.get(reverse("evaluation_export:rejected-lines"))
    assert "学籍号不存在" in response.text
    assert record.student.name in response.text
    assert record.student.student_number not in response.text, "student numbers are masked"
    listing = city_client.get(reverse("evaluation_export:batch-list"))
    assert 'data-rejected-count="1"' in listing.text


def test_the_pages_make_a_fixed_number_of_queries(city_client, ledger):
    def add_rejected_batches(count):
        for _ in range(count):
            ledger.record()
            batch = run_batch()
            batch.lines.update(ack_status=AckStatus.REJECTED, ack_reason="x")

    def counts():
        measured = []
        for name in ("batch-list", "rejected-lines"):
            count, response = queries_for(
                lambda name=name: city_client.get(reverse(f"evaluation_export:{name}"))
            )
            assert response.status_code == 200
            measured.append(count)
        return measured

    add_rejected_batches(2)
    small = counts()
    add_rejected_batches(4)
    large = counts()
    assert ExportBatch.objects.count() == 6
    assert small == large and max(large) <= 12


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: UserFactory(role=Role.STUDENT), id="student"),
        pytest.param(lambda: CoordinatorFactory().user, id="coordinator"),
        pytest.param(lambda: SchoolAdminFactory().user, id="school_admin"),
        pytest.param(lambda: UserFactory(role=Role.DISTRICT_ADMIN), id="district_admin"),
    ],
)
def test_everyone_else_gets_404_on_every_export_page(client, ledger, make_user):
    ledger.record()
    batch = run_batch()
    client.login(username=make_user().username, password=PASSWORD)
    for name, args in [
        ("batch-list", []),
        ("batch-detail", [batch.pk]),
        ("batch-status", [batch.pk]),
        ("batch-download", [batch.pk]),
        ("rejected-lines", []),
    ]:
        assert client.get(reverse(f"evaluation_export:{name}", args=args)).status_code == 404
    for name, args in [("batch-start", []), ("rejected-resend", []), ("batch-deliver", [batch.pk])]:
        response = client.post(reverse(f"evaluation_export:{name}", args=args), {"kind": "full"})
        assert response.status_code == 404
    assert ExportBatch.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("evaluation_export:batch-list"))
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_deliver_again_queues_a_delivery_after_commit(
    city_client, ledger, django_capture_on_commit_callbacks
):
    ledger.record()
    batch = run_batch()
    with django_capture_on_commit_callbacks(execute=True):
        response = city_client.post(reverse("evaluation_export:batch-deliver", args=[batch.pk]))
    assert response.status_code == 302
    assert sent_kwargs(tasks.export_batch_deliver) == [{"batch_id": batch.pk}]
    assert AuditLog.objects.filter(action="export.deliver_again").exists()


def test_periods_are_shown_as_people_say_them(city_client):
    week, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W49")
    resend, _ = export_batch_create(kind=BatchKind.FULL, period="2026-11-30T1015")
    html = city_client.get(reverse("evaluation_export:batch-list")).text
    assert "2026年第49周" in html and "2026-W49" not in html
    assert "2026-11-30 10:15" in html
    with translation.override("en"):
        assert week.period_label == "Week 49 of 2026"
    detail = city_client.get(reverse("evaluation_export:batch-detail", args=[week.pk])).text
    assert "2026年第49周" in detail.split("<h1>")[1].split("</h1>")[0]
    assert resend.period_label == "2026-11-30 10:15"


def test_a_batch_no_worker_took_within_a_minute_says_so_and_what_to_do(city_client, settings):
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W49")
    url = reverse("evaluation_export:batch-detail", args=[batch.pk])
    status_url = reverse("evaluation_export:batch-status", args=[batch.pk])
    fresh = city_client.get(url).text
    assert 'data-testid="batch-unclaimed" data-role="unclaimed" hidden' in fresh
    assert city_client.get(status_url).json()["unclaimed"] is False

    ExportBatch.objects.filter(pk=batch.pk).update(
        created_at=timezone.now()
        - timedelta(seconds=settings.EVALUATION_EXPORT_UNCLAIMED_SECONDS + 5)
    )
    waiting = city_client.get(url).text
    assert 'data-testid="batch-unclaimed" data-role="unclaimed">' in waiting
    assert "超过一分钟仍没有后台进程开始处理此批次" in waiting
    assert "Celery" in waiting
    assert city_client.get(status_url).json()["unclaimed"] is True
    # Taken by a worker: the warning goes.
    ExportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    assert city_client.get(status_url).json()["unclaimed"] is False


def test_no_server_folder_is_shown_on_the_batch_page(city_client, ledger):
    ledger.record()
    batch = run_batch()
    ExportBatch.objects.filter(pk=batch.pk).update(
        delivered_at=timezone.now(),
        delivered_to="/srv/portal/var/drop/outbox",
        delivery_error="PermissionError: [Errno 13] Permission denied: '/srv/portal/var/drop/in'",
    )
    html = city_client.get(reverse("evaluation_export:batch-detail", args=[batch.pk])).text
    assert "/srv/" not in html
    assert "…/outbox" in html and "…/in" in html
    assert Path(batch.file.name).name in html and "exports/" not in html

    failed, _ = export_batch_create(kind=BatchKind.FULL, period="2026-W50")
    ExportBatch.objects.filter(pk=failed.pk).update(
        status=BatchStatus.FAILED,
        error="FileNotFoundError: [Errno 2] No such file or directory: '/srv/portal/media/x.part'",
    )
    page = city_client.get(reverse("evaluation_export:batch-detail", args=[failed.pk])).text
    status = city_client.get(reverse("evaluation_export:batch-status", args=[failed.pk])).json()
    assert "/srv/" not in page and "/srv/" not in status["error"]
    assert "…/x.part" in page
