"""Delivery of a done batch to the evaluation system, and the receiver's acknowledgement.

Two channels, chosen by settings read at call time:

- a drop folder (default, EVALUATION_EXPORT_DIR): the file is copied in under its own name
  with a `<name>.sha256` beside it, both moved into place atomically; the receiver puts
  `<name>.ack.json` back into the folder, which `export_acks_collect` applies;
- HTTPS POST to EVALUATION_EXPORT_ENDPOINT with `Authorization: Bearer EVALUATION_EXPORT_TOKEN`:
  the response body is the acknowledgement. Connection errors, timeouts, 408, 429 and 5xx are
  transient: before the last attempt they raise TransientDeliveryError, which the delivery task
  retries with exponential back-off (tasks.export_batch_deliver); other answers are final.

The acknowledgement format is documented in docs/export-format.md.
"""

import json
import logging
import os
import shutil
import urllib.error
import urllib.request
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.http import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from portal.messages import Message, message_of
from portal.models import User
from portal.outbox import task_enqueue
from portal.services import audit_log_record

from . import messages as m
from .models import AckStatus, BatchFormat, BatchStatus, ExportBatch, ExportedLine
from .services.errors import ExportError

logger = logging.getLogger(__name__)

ACK_FORMAT = "evaluation-export-ack/1"
ACK_SUFFIX = ".ack.json"
ACKS_PROCESSED = "acks-processed"
MAX_ACK_BYTES = 50 * 1024 * 1024
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
CONTENT_TYPES = {
    BatchFormat.XLSX: XLSX_CONTENT_TYPE,
    BatchFormat.CSV: CSV_CONTENT_TYPE,
}
TRANSIENT_STATUSES = {408, 425, 429}


class DeliveryError(Exception):
    """A delivery that failed for good (refused, misconfigured, or an unreadable answer)."""


class TransientDeliveryError(DeliveryError):
    """A delivery that may succeed if tried again (network, timeout, 5xx, 429)."""


class AckError(ExportError):
    """An acknowledgement that does not match its batch; nothing of it is applied."""


def file_name(batch: ExportBatch) -> str:
    return Path(batch.file.name).name


# ------------------------------------------------------------------------------
# Delivering
# ------------------------------------------------------------------------------
def export_batch_deliver(*, batch_id: int, attempt: int = 1, attempts: int = 1) -> ExportBatch:
    """Make attempt `attempt` of `attempts` to deliver a done batch; others are left alone.

    A transient failure before the last attempt raises TransientDeliveryError, for the caller to
    try again; every other outcome, the last attempt's failure too, is kept on the batch.
    """
    batch = ExportBatch.objects.get(pk=batch_id)
    if batch.status != BatchStatus.DONE or batch.delivered_at is not None:
        return batch
    endpoint = settings.EVALUATION_EXPORT_ENDPOINT
    if endpoint:
        _deliver_http(batch, endpoint, attempt=attempt, attempts=attempts)
    else:
        _deliver_folder(batch)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def export_batch_deliver_again(*, batch: ExportBatch, requested_by: User) -> None:
    """Forget a failed or finished delivery and queue a new one after commit."""
    # Imported here: the tasks module calls this one, so a top-level import would be circular.
    from . import tasks

    if batch.status != BatchStatus.DONE:
        raise ExportError(_("Only a done batch can be delivered."), code="not_done")
    ExportBatch.objects.filter(pk=batch.pk).update(delivered_at=None, delivery_error="")
    audit_log_record(actor=requested_by, action="export.deliver_again", target=batch)
    batch_id = batch.pk
    task_enqueue(tasks.export_batch_deliver, batch_id=batch_id)


def _mark_delivered(batch: ExportBatch, *, to: str, ack: dict | None = None) -> None:
    with transaction.atomic():
        ExportBatch.objects.filter(pk=batch.pk).update(
            delivered_at=timezone.now(), delivered_to=to[:300], delivery_error=""
        )
        if ack is not None:
            export_ack_apply(batch=batch, ack=ack)
        audit_log_record(
            actor=None,
            action="export.deliver",
            target=batch,
            data={"to": to, "file": batch.file.name, "sha256": batch.sha256},
        )


def _mark_failed(batch: ExportBatch, error: Message | str) -> None:
    """Keep why the delivery failed: a stored message (code and parameters), or a technical
    detail with no words of ours (an HTTP status line) as it is."""
    logger.warning("Delivery of export batch %s failed: %s", batch.pk, error)
    stored = error.encode() if isinstance(error, Message) else error
    ExportBatch.objects.filter(pk=batch.pk).update(delivery_error=stored[:2000])


def _count_attempt(batch: ExportBatch) -> None:
    ExportBatch.objects.filter(pk=batch.pk).update(delivery_attempts=F("delivery_attempts") + 1)


def _copy_atomically(source: Path, target: Path) -> None:
    temp = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, temp)
    os.replace(temp, target)


def _deliver_folder(batch: ExportBatch) -> None:
    folder = Path(settings.EVALUATION_EXPORT_DIR)
    _count_attempt(batch)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = file_name(batch)
        _copy_atomically(Path(batch.file.path), folder / name)
        # The checksum file comes last: a receiver takes a file once its .sha256 is there.
        sidecar = folder / f".{name}.sha256.part"
        sidecar.write_text(f"{batch.sha256}  {name}\n", encoding="ascii")
        os.replace(sidecar, folder / f"{name}.sha256")
    except OSError as exc:
        _mark_failed(batch, m.FOLDER_FAILED(error=f"{type(exc).__name__}: {exc}"))
        return
    _mark_delivered(batch, to=str(folder))


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return
    raise DeliveryError(m.NOT_HTTPS(url=endpoint))


def _deliver_http(batch: ExportBatch, endpoint: str, *, attempt: int, attempts: int) -> None:
    _count_attempt(batch)
    try:
        _check_endpoint(endpoint)
        ack = _post(batch, endpoint)
    except TransientDeliveryError as exc:
        if attempt < attempts:
            logger.info(
                "Delivery of batch %s, attempt %s of %s: %s", batch.pk, attempt, attempts, exc
            )
            raise
        _mark_failed(batch, m.GAVE_UP(error=_stored(exc), attempts=attempts))
        return
    except DeliveryError as exc:
        _mark_failed(batch, _stored(exc))
        return
    try:
        _mark_delivered(batch, to=endpoint, ack=ack)
    except AckError as exc:
        _mark_failed(batch, m.ACK_REFUSED(error=_stored(exc)))


def _post(batch: ExportBatch, endpoint: str) -> dict:
    """POST the file; returns the acknowledgement the receiver answered with."""
    path = Path(batch.file.path)
    name = file_name(batch)
    headers = {
        "Content-Type": CONTENT_TYPES[batch.format],
        "Content-Length": str(path.stat().st_size),
        "Accept": "application/json",
        "X-Export-Format": f"v{batch.format_version}",
        "X-Export-Batch": f"{batch.period}/{batch.kind}",
        "X-Export-File": name,
        "X-Export-SHA256": batch.sha256,
        # The same batch always carries the same key, so a receiver drops a repeated POST.
        "Idempotency-Key": f"{name}:{batch.sha256}",
    }
    token = settings.EVALUATION_EXPORT_TOKEN
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = settings.EVALUATION_EXPORT_TIMEOUT
    with open(path, "rb") as body:
        request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read(MAX_ACK_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            message = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            if exc.code in TRANSIENT_STATUSES or exc.code >= 500:
                raise TransientDeliveryError(message) from exc
            raise DeliveryError(message) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if len(raw) > MAX_ACK_BYTES:
        raise DeliveryError(m.ACK_TOO_LARGE())
    try:
        ack = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(m.ACK_NOT_JSON(error=str(exc))) from exc
    if not isinstance(ack, dict):
        raise DeliveryError(m.ACK_NOT_OBJECT())
    return ack


# ------------------------------------------------------------------------------
# Acknowledgements
# ------------------------------------------------------------------------------
def _ack_refused(message: Message) -> AckError:
    return AckError(message, code="ack_mismatch")


def _stored(error: Exception) -> Message | str:
    """What a delivery or acknowledgement error says, kept as a message where it is one."""
    return message_of(error)


def _parse_rejections(ack: dict) -> dict[tuple[int, int], str]:
    rejected = ack.get("rejected", [])
    if not isinstance(rejected, list):
        raise _ack_refused(m.ACK_REJECTED_NOT_LIST())
    parsed = {}
    for item in rejected:
        try:
            key = (int(str(item["record_id"])), int(item["version"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _ack_refused(m.ACK_REJECTION_INCOMPLETE(item=item)) from exc
        parsed[key] = str(item.get("reason", "")).strip()[:500]
    return parsed


@transaction.atomic
def export_ack_apply(*, batch: ExportBatch, ack: dict) -> dict[str, int]:
    """Apply an acknowledgement: listed lines rejected with the reason, all others accepted.

    All or nothing: an acknowledgement for another file (SHA-256) or naming a line the batch
    does not have is refused whole. Applying the same acknowledgement again changes nothing.
    """
    if ack.get("format", ACK_FORMAT) != ACK_FORMAT:
        raise _ack_refused(m.ACK_UNKNOWN_FORMAT(format=ack.get("format")))
    if ack.get("sha256") != batch.sha256:
        raise _ack_refused(m.ACK_OTHER_SHA())
    if ack.get("file") not in (None, file_name(batch)):
        raise _ack_refused(m.ACK_OTHER_FILE(file=ack.get("file")))
    rejections = _parse_rejections(ack)
    known = {}
    record_ids = sorted({record_id for record_id, _version in rejections})
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start : start + 500]
        for pk, record_id, version in ExportedLine.objects.filter(
            batch=batch, record_id__in=chunk
        ).values_list("pk", "record_id", "version"):
            known[(record_id, version)] = pk
    unknown = [key for key in rejections if key not in known]
    if unknown:
        raise _ack_refused(m.ACK_UNKNOWN_LINE(record=unknown[0][0], version=unknown[0][1]))
    now = timezone.now()
    batch.lines.update(ack_status=AckStatus.ACCEPTED, ack_reason="", acked_at=now)
    by_reason = defaultdict(list)
    for key, reason in rejections.items():
        by_reason[reason].append(known[key])
    for reason, pks in by_reason.items():
        for start in range(0, len(pks), 500):
            ExportedLine.objects.filter(pk__in=pks[start : start + 500]).update(
                ack_status=AckStatus.REJECTED, ack_reason=reason, acked_at=now
            )
    ExportBatch.objects.filter(pk=batch.pk).update(acked_at=now)
    counts = {"accepted": batch.lines.count() - len(rejections), "rejected": len(rejections)}
    audit_log_record(actor=None, action="export.ack", target=batch, data=counts)
    return counts


def export_acks_collect() -> int:
    """Apply every `<file>.ack.json` in the drop folder; returns how many were applied.

    An applied acknowledgement moves to `acks-processed/`; a refused one is renamed
    `<file>.ack.json.invalid` and its error kept on the batch, so it is not read again.
    """
    folder = Path(settings.EVALUATION_EXPORT_DIR)
    if not folder.is_dir():
        return 0
    applied = 0
    for path in sorted(folder.glob(f"*{ACK_SUFFIX}")):
        name = path.name[: -len(ACK_SUFFIX)]
        batch = (
            ExportBatch.objects.filter(status=BatchStatus.DONE, file__endswith=f"/{name}")
            .order_by("-pk")
            .first()
        )
        try:
            ack = json.loads(path.read_text(encoding="utf-8"))
            if batch is None:
                raise _ack_refused(m.ACK_NO_BATCH(name=name))
            if not isinstance(ack, dict):
                raise _ack_refused(m.ACK_NOT_DICT())
            export_ack_apply(batch=batch, ack={"file": name, **ack})
        except (ValueError, UnicodeDecodeError, AckError) as exc:
            error = _stored(exc) if isinstance(exc, AckError) else str(exc)
            logger.warning("Acknowledgement %s refused: %s", path.name, error)
            if batch is not None:
                _mark_failed(batch, m.ACK_FILE_REFUSED(error=error))
            with suppress(OSError):
                os.replace(path, path.with_name(path.name + ".invalid"))
            continue
        processed = folder / ACKS_PROCESSED
        processed.mkdir(exist_ok=True)
        os.replace(path, processed / path.name)
        applied += 1
    return applied
