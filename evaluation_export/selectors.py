from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Role, User

from .models import ExportBatch


def export_batch_list_for_user(*, user: User) -> QuerySet[ExportBatch]:
    """Export batches are the city admin's alone."""
    if user.role != Role.CITY_ADMIN:
        return ExportBatch.objects.none()
    return ExportBatch.objects.select_related("requested_by").order_by("-created_at", "-id")


def export_batch_get_for_user(*, user: User, batch_id: int) -> ExportBatch:
    return get_object_or_404(export_batch_list_for_user(user=user), pk=batch_id)
