"""Admin for export batches and their lines; both are written only by the exporter."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import ExportBatch, ExportedLine


@admin.register(ExportBatch)
class ExportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "period",
        "kind",
        "format",
        "status",
        "rows_done",
        "row_count",
        "created_at",
        "finished_at",
        "delivered_at",
        "acked_at",
        "requested_by",
    )
    list_filter = ("status", "kind", "format")
    list_select_related = ("requested_by",)
    search_fields = ("period", "sha256")
    date_hierarchy = "created_at"


@admin.register(ExportedLine)
class ExportedLineAdmin(ReadOnlyAdmin):
    list_display = ("batch", "record", "version", "operation", "ack_status", "acked_at")
    list_filter = ("ack_status", "operation", "batch_kind")
    list_select_related = ("batch", "record__student")
    search_fields = ("record__student__student_number", "batch__period")
    show_full_result_count = False
