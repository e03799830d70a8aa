"""The city admin's export pages: start a batch, watch it run, download it, handle rejections.

Everyone else gets 404, as for a foreign object.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.errors import without_server_paths
from portal.messages import message_text
from portal.models import Role
from portal.roles import role_required

from .delivery import export_acks_collect, export_batch_deliver_again
from .forms import ExportStartForm, ResendForm
from .models import BatchKind, BatchStatus, ExportBatch
from .selectors import (
    export_batch_ack_counts,
    export_batch_get_for_user,
    export_batch_is_stale,
    export_batch_is_unclaimed,
    export_batch_list_for_user,
    export_batch_operation_counts,
    exported_line_rejected_open_for_user,
)
from .services import ExportError, export_batch_download, export_batch_start

PER_PAGE = 25

city_admin_only = role_required(Role.CITY_ADMIN)


def _render_list(request: HttpRequest, *, form: ExportStartForm | None = None) -> HttpResponse:
    batches = export_batch_list_for_user(user=request.user)
    return render(
        request,
        "evaluation_export/batch_list.html",
        {
            "form": form or ExportStartForm(),
            "page": Paginator(batches, PER_PAGE).get_page(request.GET.get("page")),
            "rejected_count": exported_line_rejected_open_for_user(user=request.user).count(),
        },
    )


@city_admin_only
def batch_list(request: HttpRequest) -> HttpResponse:
    """Batches, newest first, with the form that starts one by hand."""
    return _render_list(request)


@require_POST
@city_admin_only
def batch_start(request: HttpRequest) -> HttpResponse:
    form = ExportStartForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form=form)
    batch, created = export_batch_start(
        kind=form.cleaned_data["kind"],
        fmt=form.cleaned_data["format"],
        format_version=form.cleaned_data["format_version"],
        requested_by=request.user,
    )
    if created:
        messages.success(request, _("Batch %(period)s started.") % {"period": batch.period_label})
    elif batch.status == BatchStatus.DONE:
        messages.info(
            request,
            _("This period already has its batch (%(period)s); there is one batch per period.")
            % {"period": batch.period_label},
        )
    else:
        messages.info(
            request,
            _("This period's batch (%(period)s) exists already; it continues.")
            % {"period": batch.period_label},
        )
    return redirect("evaluation_export:batch-detail", batch_id=batch.pk)


def _status(batch: ExportBatch) -> dict:
    stale = export_batch_is_stale(batch)
    label = _("%(done)s of %(total)s rows written") % {
        "done": batch.rows_done,
        "total": batch.row_count or "…",
    }
    if stale:
        label = _("The worker stopped; resuming the batch (%(label)s so far).") % {"label": label}
    return {
        "status": batch.status,
        "status_label": batch.get_status_display(),
        "rows_done": batch.rows_done,
        "row_count": batch.row_count,
        "percent": batch.percent,
        "finished": batch.status in (BatchStatus.DONE, BatchStatus.FAILED),
        "stale": stale,
        "unclaimed": export_batch_is_unclaimed(batch),
        "label": label,
        "download_url": reverse("evaluation_export:batch-download", args=[batch.pk])
        if batch.status == BatchStatus.DONE
        else "",
        "error": without_server_paths(message_text(batch.error)),
    }


@city_admin_only
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = export_batch_get_for_user(user=request.user, batch_id=batch_id)
    done = batch.status == BatchStatus.DONE
    return render(
        request,
        "evaluation_export/batch_detail.html",
        {
            "batch": batch,
            "status": _status(batch),
            # Stored texts may name the server's folders; the page shows file names at most.
            "delivery_error": without_server_paths(message_text(batch.delivery_error)),
            "delivered_to": without_server_paths(batch.delivered_to),
            "operations": export_batch_operation_counts(batch=batch) if done else None,
            "acks": export_batch_ack_counts(batch=batch) if done else None,
        },
    )


@city_admin_only
def batch_status(request: HttpRequest, batch_id: int) -> JsonResponse:
    """What the progress bar polls."""
    batch = export_batch_get_for_user(user=request.user, batch_id=batch_id)
    return JsonResponse(_status(batch))


@city_admin_only
def batch_download(request: HttpRequest, batch_id: int) -> FileResponse:
    batch = export_batch_get_for_user(user=request.user, batch_id=batch_id)
    try:
        path = export_batch_download(batch=batch, user=request.user)
    except ExportError as error:
        raise Http404 from error
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)


@require_POST
@city_admin_only
def batch_deliver(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = export_batch_get_for_user(user=request.user, batch_id=batch_id)
    try:
        export_batch_deliver_again(batch=batch, requested_by=request.user)
    except ExportError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("Delivery queued."))
    return redirect("evaluation_export:batch-detail", batch_id=batch.pk)


@require_POST
@city_admin_only
def acks_collect(request: HttpRequest) -> HttpResponse:
    applied = export_acks_collect()
    messages.info(request, _("Acknowledgement files applied: %(count)s.") % {"count": applied})
    return redirect("evaluation_export:batch-list")


@city_admin_only
def rejected_lines(request: HttpRequest) -> HttpResponse:
    """Lines the receiver rejected, with its reason, that have not been fixed and re-sent."""
    lines = exported_line_rejected_open_for_user(user=request.user)
    return render(
        request,
        "evaluation_export/rejected_lines.html",
        {
            "page": Paginator(lines, PER_PAGE).get_page(request.GET.get("page")),
            "form": ResendForm(),
        },
    )


@require_POST
@city_admin_only
def rejected_resend(request: HttpRequest) -> HttpResponse:
    form = ResendForm(request.POST)
    if not form.is_valid():
        return redirect("evaluation_export:rejected-lines")
    try:
        batch, _created = export_batch_start(
            kind=BatchKind.RESEND,
            fmt=form.cleaned_data["format"],
            format_version=form.cleaned_data["format_version"],
            requested_by=request.user,
        )
    except ExportError as error:
        messages.error(request, "; ".join(error.messages))
        return redirect("evaluation_export:rejected-lines")
    messages.success(request, _("The rejected lines are being sent again."))
    return redirect("evaluation_export:batch-detail", batch_id=batch.pk)
