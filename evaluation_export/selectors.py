from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.models import Role, User

from .exporters import SENT_KINDS
from .models import AckStatus, BatchKind, BatchStatus, ExportBatch, ExportedLine, Operation


def export_batch_list_for_user(*, user: User) -> QuerySet[ExportBatch]:
    """Export batches are the city admin's alone."""
    if user.role != Role.CITY_ADMIN:
        return ExportBatch.objects.none()
    return ExportBatch.objects.select_related("requested_by").order_by("-created_at", "-id")


def export_batch_get_for_user(*, user: User, batch_id: int) -> ExportBatch:
    return get_object_or_404(export_batch_list_for_user(user=user), pk=batch_id)


def export_batch_operation_counts(*, batch: ExportBatch) -> dict[str, int]:
    """Lines of a batch by operation, every operation present (zero if none): one query."""
    counted = dict(
        batch.lines.order_by()
        .values_list("operation")
        .annotate(n=Count("pk"))
        .values_list("operation", "n")
    )
    return {operation: counted.get(operation, 0) for operation in Operation.values}


def export_batch_ack_counts(*, batch: ExportBatch) -> dict[str, int]:
    """Lines of a batch by acknowledgement status, every status present: one query."""
    counted = dict(
        batch.lines.order_by()
        .values_list("ack_status")
        .annotate(n=Count("pk"))
        .values_list("ack_status", "n")
    )
    return {status: counted.get(status, 0) for status in AckStatus.values}


def exported_line_rejected_open_for_user(*, user: User) -> QuerySet[ExportedLine]:
    """Rejected lines still standing: the latest line sent for their record, record unchanged.

    Lines of full batches are not here: a full file is a snapshot, not part of the sequence a
    receiver applies; their rejections show on the batch page.
    """
    if user.role != Role.CITY_ADMIN:
        return ExportedLine.objects.none()
    later = ExportedLine.objects.filter(
        record=OuterRef("record"), batch_kind__in=SENT_KINDS, pk__gt=OuterRef("pk")
    )
    return (
        ExportedLine.objects.filter(batch_kind__in=SENT_KINDS, ack_status=AckStatus.REJECTED)
        .exclude(Exists(later))
        .annotate(
            record_changed=ExpressionWrapper(
                Q(record__version__gt=F("version")), output_field=BooleanField()
            )
        )
        .select_related("batch", "record__student__school_class__school", "record__category")
        .order_by("-acked_at", "-pk")
    )


def export_batch_is_unclaimed(batch: ExportBatch) -> bool:
    """True while a new batch has waited past EVALUATION_EXPORT_UNCLAIMED_SECONDS for a worker.

    A worker takes a queued batch within seconds; one that has not is a sign that no worker
    is running (or none can reach the queue), which the batch's page then says.
    """
    if batch.status != BatchStatus.PENDING or batch.started_at is not None:
        return False
    age = (timezone.now() - batch.created_at).total_seconds()
    return age > settings.EVALUATION_EXPORT_UNCLAIMED_SECONDS


def export_batch_is_stale(batch: ExportBatch) -> bool:
    """True while a RUNNING batch's runner has been silent past EVALUATION_EXPORT_STALE_SECONDS."""
    if batch.status != BatchStatus.RUNNING or batch.heartbeat_at is None:
        return False
    age = (timezone.now() - batch.heartbeat_at).total_seconds()
    return age > settings.EVALUATION_EXPORT_STALE_SECONDS


def exported_delta_versions(record_ids: list[int]) -> dict[int, int]:
    """{record id: the highest version sent in a delta}: one query."""
    from django.db.models import Max

    rows = (
        ExportedLine.objects.filter(record_id__in=record_ids, batch_kind=BatchKind.DELTA)
        .order_by()
        .values("record_id")
        .annotate(v=Max("version"))
    )
    return {row["record_id"]: row["v"] for row in rows}
