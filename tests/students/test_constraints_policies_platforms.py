"""The database refuses bad reliability policies, hold lifts and other platforms' records."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bases.models import ReliabilityHoldLift
from students.models import (
    Platform,
    PlatformImport,
    PlatformImportStatus,
    PlatformRecord,
    PlatformRecordStatus,
    ReliabilityPolicy,
)
from tests.constraint_helpers import refused
from tests.factories import SchoolFactory, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["half_life_days", "hold_no_shows", "hold_window_days"])
def test_a_reliability_policy_needs_positive_periods(field):
    with refused(ReliabilityPolicy, "reliability_policy_periods_positive"):
        ReliabilityPolicy.objects.create(effective_from=date(2031, 9, 1), **{field: 0})


@pytest.mark.parametrize("factor", [0, -0.5, 1.5])
def test_a_reliability_policy_keeps_the_lottery_factor_in_range(factor):
    with refused(ReliabilityPolicy, "reliability_policy_factor_in_range"):
        ReliabilityPolicy.objects.create(
            effective_from=date(2031, 9, 1), held_lottery_factor=factor
        )


def test_a_hold_lift_needs_a_reason():
    with refused(ReliabilityHoldLift, "hold_lift_reason_not_empty"):
        ReliabilityHoldLift.objects.create(
            student=StudentFactory(), lifted_by=UserFactory(), reason="", lifted_at=timezone.now()
        )


def _upload(**fields) -> PlatformImport:
    values = {
        "school": SchoolFactory(),
        "platform": Platform.values[0],
        "status": PlatformImportStatus.PREVIEWED,
        "original_name": "records.csv",
        "sha256": "0" * 64,
        "file": "platform-imports/records.csv",
    }
    values.update(fields)
    return PlatformImport.objects.create(**values)


def test_an_imported_platform_sheet_keeps_its_import_time():
    with refused(PlatformImport, "platform_import_done_has_time"):
        _upload(status=PlatformImportStatus.IMPORTED, imported_at=None)


def test_a_platform_sheet_names_a_known_platform():
    with refused(PlatformImport, "platform_import_platform_valid"):
        _upload(platform="weibo")


def _item(upload: PlatformImport, **fields) -> PlatformRecord:
    start = timezone.now() - timedelta(days=3)
    values = {
        "platform": upload.platform,
        "original_id": "R-1",
        "upload": upload,
        "sha256": upload.sha256,
        "student": StudentFactory(),
        "title": "社区服务",
        "organiser_name": "街道",
        "started_at": start,
        "ended_at": start + timedelta(hours=2),
        "minutes": 120,
        "status": PlatformRecordStatus.values[0],
    }
    values.update(fields)
    return PlatformRecord.objects.create(**values)


def test_a_platform_record_is_taken_once_per_platform_and_id():
    upload = _upload()
    _item(upload)
    with refused(PlatformRecord, "platform_record_natural_key"):
        _item(upload)


def test_an_overlapping_platform_record_names_the_record_it_overlaps():
    with refused(PlatformRecord, "platform_record_overlap_names_other"):
        _item(_upload(), status=PlatformRecordStatus.OVERLAP, overlaps=None)


def test_a_platform_record_has_a_known_status():
    with refused(PlatformRecord, "platform_record_status_valid"):
        _item(_upload(), status="lost")
