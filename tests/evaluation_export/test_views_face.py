"""The export pages in people's words: periods as weeks, a batch nobody picked up, no paths."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from evaluation_export.delivery import export_batch_deliver
from evaluation_export.models import BatchKind, ExportBatch
from evaluation_export.services import export_batch_create
from tests.factories import PASSWORD

from .conftest import run_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def city_client(client, ledger):
    client.login(username=ledger.city_admin.username, password=PASSWORD)
    return client


def _detail(client, batch):
    return client.get(reverse("evaluation_export:batch-detail", args=[batch.pk])).text


def test_periods_read_as_weeks_in_each_language(city_client):
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W49")
    listing = city_client.get(reverse("evaluation_export:batch-list")).text
    assert "2026年第49周" in listing and "2026-W49" not in listing
    assert "2026年第49周" in _detail(city_client, batch)
    city_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "week 49 of 2026" in _detail(city_client, batch)


def test_a_batch_nobody_picked_up_within_a_minute_says_so_and_what_to_do(city_client):
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W49")
    status_url = reverse("evaluation_export:batch-status", args=[batch.pk])
    assert city_client.get(status_url).json()["unclaimed"] is False
    assert 'data-testid="batch-unclaimed" data-role="unclaimed" hidden' in _detail(
        city_client, batch
    )

    ExportBatch.objects.filter(pk=batch.pk).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    assert city_client.get(status_url).json()["unclaimed"] is True
    page = _detail(city_client, batch)
    assert 'data-testid="batch-unclaimed" data-role="unclaimed">' in page
    assert "后台任务进程（Celery）可能已停止" in page


def test_the_pages_never_show_a_server_folder(city_client, ledger, tmp_path):
    ledger.record()
    batch = run_batch()
    with override_settings(EVALUATION_EXPORT_DIR=tmp_path / "drop", EVALUATION_EXPORT_ENDPOINT=""):
        export_batch_deliver(batch_id=batch.pk)
    ExportBatch.objects.filter(pk=batch.pk).update(
        delivery_error=f"PermissionError: [Errno 13] Permission denied: '{tmp_path}/drop/x.csv'"
    )
    page = _detail(city_client, batch)
    assert str(tmp_path) not in page
    assert str(settings.MEDIA_ROOT) not in page
    assert "exports/" not in page
    assert "评价系统的交换目录" in page
    assert "Permission denied: &#x27;…&#x27;" in page
    assert batch.file.name.rsplit("/", 1)[-1] in page
