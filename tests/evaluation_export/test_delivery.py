"""Delivery to the drop folder or by HTTP, acknowledgements, and re-sending rejected lines."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from evaluation_export import tasks
from evaluation_export.delivery import (
    AckError,
    export_ack_apply,
    export_acks_collect,
    export_batch_deliver,
)
from evaluation_export.models import AckStatus, BatchKind, BatchStatus, ExportBatch, ExportedLine
from evaluation_export.selectors import exported_line_rejected_open_for_user
from evaluation_export.services import ExportError, export_batch_start
from portal.messages import message_text
from portal.models import AuditLog

from .conftest import read_rows, run_batch

pytestmark = pytest.mark.django_db


class Receiver:
    """A local stand-in for the evaluation system: answers each POST from a script of replies."""

    def __init__(self, replies: list[tuple[int, dict | str]]):
        self.replies = list(replies)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": self.headers, "body": body})
                status, reply = receiver.replies.pop(0) if receiver.replies else (500, "")
                if callable(reply):
                    reply = reply(body)
                payload = reply if isinstance(reply, str) else json.dumps(reply)
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/exports"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _accept_all(body: bytes) -> dict:
    return {
        "format": "evaluation-export-ack/1",
        "sha256": hashlib.sha256(body).hexdigest(),
        "rejected": [],
    }


def _reject(record_id: int, version: int, reason: str):
    def reply(body: bytes) -> dict:
        return {
            **_accept_all(body),
            "rejected": [{"record_id": str(record_id), "version": version, "reason": reason}],
        }

    return reply


@pytest.fixture
def endpoint(settings, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    settings.EVALUATION_EXPORT_TOKEN = "s3cret-token"
    # Three attempts. The task takes EVALUATION_EXPORT_RETRY_ATTEMPTS when it is registered, so
    # the test sets its count directly; apply() runs each retry at once, whatever the backoff.
    monkeypatch.setattr(tasks.export_batch_deliver, "max_retries", 2)

    def use(receiver: Receiver) -> Receiver:
        settings.EVALUATION_EXPORT_ENDPOINT = receiver.url
        return receiver

    return use


class TestDropFolder:
    def test_a_done_batch_is_copied_with_its_checksum_file(self, ledger, settings):
        ledger.record()
        batch = export_batch_deliver(batch_id=run_batch().pk)
        folder = Path(settings.EVALUATION_EXPORT_DIR)
        name = Path(batch.file.name).name
        assert (folder / name).read_bytes() == Path(batch.file.path).read_bytes()
        assert (folder / f"{name}.sha256").read_text() == f"{batch.sha256}  {name}\n"
        assert batch.delivered_at is not None
        assert batch.delivered_to == str(folder)
        assert not list(folder.glob(".*part"))
        assert AuditLog.objects.filter(action="export.deliver", object_id=str(batch.pk)).exists()

    def test_delivering_twice_copies_once(self, ledger, settings):
        ledger.record()
        batch = export_batch_deliver(batch_id=run_batch().pk)
        again = export_batch_deliver(batch_id=batch.pk)
        assert again.delivered_at == batch.delivered_at
        assert again.delivery_attempts == 1

    def test_an_ack_file_marks_lines_accepted_or_rejected_with_the_reason(self, ledger, settings):
        accepted, rejected = ledger.record(), ledger.record()
        batch = export_batch_deliver(batch_id=run_batch().pk)
        folder = Path(settings.EVALUATION_EXPORT_DIR)
        name = Path(batch.file.name).name
        ack = {
            "format": "evaluation-export-ack/1",
            "file": name,
            "sha256": batch.sha256,
            "rejected": [{"record_id": str(rejected.pk), "version": 1, "reason": "学籍号不存在"}],
        }
        (folder / f"{name}.ack.json").write_text(json.dumps(ack, ensure_ascii=False), "utf-8")
        assert export_acks_collect() == 1
        lines = dict(batch.lines.values_list("record_id", "ack_status"))
        assert lines == {accepted.pk: AckStatus.ACCEPTED, rejected.pk: AckStatus.REJECTED}
        assert batch.lines.get(record=rejected).ack_reason == "学籍号不存在"
        assert (folder / "acks-processed" / f"{name}.ack.json").exists()
        assert export_acks_collect() == 0

    def test_an_ack_for_another_file_is_refused_whole(self, ledger, settings):
        record = ledger.record()
        batch = export_batch_deliver(batch_id=run_batch().pk)
        folder = Path(settings.EVALUATION_EXPORT_DIR)
        name = Path(batch.file.name).name
        ack = {"sha256": "0" * 64, "rejected": [{"record_id": record.pk, "version": 1}]}
        (folder / f"{name}.ack.json").write_text(json.dumps(ack), "utf-8")
        assert export_acks_collect() == 0
        assert set(batch.lines.values_list("ack_status", flat=True)) == {AckStatus.PENDING}
        assert (folder / f"{name}.ack.json.invalid").exists()
        batch.refresh_from_db()
        assert "SHA-256" in message_text(batch.delivery_error)

    def test_an_ack_naming_a_line_the_batch_does_not_have_is_refused_whole(self, ledger):
        record = ledger.record()
        batch = run_batch()
        with pytest.raises(AckError):
            export_ack_apply(
                batch=batch,
                ack={
                    "sha256": batch.sha256,
                    "rejected": [
                        {"record_id": record.pk, "version": 1, "reason": "x"},
                        {"record_id": record.pk + 999, "version": 1, "reason": "y"},
                    ],
                },
            )
        assert set(batch.lines.values_list("ack_status", flat=True)) == {AckStatus.PENDING}


def deliver(batch_id: int) -> ExportBatch:
    """The delivery task run in this process, retries and all, as a worker would run it."""
    tasks.export_batch_deliver.apply(kwargs={"batch_id": batch_id}).get()
    return ExportBatch.objects.get(pk=batch_id)


class TestHttp:
    def test_it_posts_the_file_with_token_checksum_and_idempotency_key(self, ledger, endpoint):
        ledger.record()
        batch = run_batch()
        with endpoint(Receiver([(200, _accept_all)])) as receiver:
            batch = deliver(batch.pk)
        (request,) = receiver.requests
        assert request["body"] == Path(batch.file.path).read_bytes()
        assert request["headers"]["Authorization"] == "Bearer s3cret-token"
        assert request["headers"]["X-Export-SHA256"] == batch.sha256
        assert request["headers"]["X-Export-Format"] == "v1"
        assert request["headers"]["Idempotency-Key"].endswith(batch.sha256)
        assert request["headers"]["Content-Type"].startswith("text/csv")
        assert batch.delivered_at is not None
        assert batch.delivery_attempts == 1
        assert set(batch.lines.values_list("ack_status", flat=True)) == {AckStatus.ACCEPTED}

    def test_a_failure_is_retried_with_backoff_until_it_succeeds(self, ledger, endpoint):
        ledger.record()
        batch = run_batch()
        replies = [(503, "busy"), (500, "oops"), (200, _accept_all)]
        with endpoint(Receiver(replies)) as receiver:
            batch = deliver(batch.pk)
        assert len(receiver.requests) == 3
        bodies = {r["body"] for r in receiver.requests}
        keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
        assert len(bodies) == len(keys) == 1, "each attempt sends the same file under one key"
        assert batch.delivered_at is not None
        assert batch.delivery_attempts == 3
        assert batch.delivery_error == ""

    def test_it_gives_up_after_the_last_attempt_and_says_why(self, ledger, endpoint):
        ledger.record()
        batch = run_batch()
        with endpoint(Receiver([(503, "busy")] * 3)) as receiver:
            batch = deliver(batch.pk)
        assert len(receiver.requests) == 3
        assert batch.delivered_at is None
        assert "HTTP 503" in batch.delivery_error
        assert batch.delivery_attempts == 3
        assert set(batch.lines.values_list("ack_status", flat=True)) == {AckStatus.PENDING}

    def test_a_refusal_is_not_retried(self, ledger, endpoint):
        ledger.record()
        batch = run_batch()
        with endpoint(Receiver([(401, {"error": "bad token"})])) as receiver:
            batch = deliver(batch.pk)
        assert len(receiver.requests) == 1
        assert "HTTP 401" in batch.delivery_error
        assert batch.delivered_at is None

    def test_an_unreachable_endpoint_is_retried_then_reported(self, ledger, endpoint, settings):
        ledger.record()
        batch = run_batch()
        receiver = Receiver([])
        receiver.server.server_close()  # nothing listens on that port any more
        endpoint(receiver)
        batch = deliver(batch.pk)
        assert batch.delivery_attempts == 3
        assert "URLError" in batch.delivery_error

    def test_plain_http_is_refused_except_to_this_machine(self, ledger, settings):
        ledger.record()
        batch = run_batch()
        settings.EVALUATION_EXPORT_ENDPOINT = "http://evaluation.example.org/upload"
        batch = deliver(batch.pk)
        assert "HTTPS" in message_text(batch.delivery_error)
        assert batch.delivery_attempts == 1

    def test_a_rejection_in_the_answer_is_shown_and_can_be_sent_again(self, ledger, endpoint):
        accepted, rejected = ledger.record(), ledger.record()
        batch = run_batch()
        reason = "学籍号在综合素质评价系统中不存在"
        with endpoint(Receiver([(200, _reject(rejected.pk, 1, reason))])):
            batch = deliver(batch.pk)
        (line,) = exported_line_rejected_open_for_user(user=ledger.city_admin)
        assert (line.record_id, line.version, line.ack_reason) == (rejected.pk, 1, reason)
        assert batch.lines.get(record=accepted).ack_status == AckStatus.ACCEPTED

        # The receiver registered the student: the unchanged line is sent again, once.
        resend, _ = export_batch_start(
            kind=BatchKind.RESEND, fmt="csv", requested_by=ledger.city_admin
        )
        resend = run_batch_by_id(resend.pk)
        assert list(resend.lines.values_list("record_id", "version", "operation")) == [
            (rejected.pk, 1, "new")
        ]
        (row,) = read_rows(resend.file.path)
        assert (row["record_id"], row["version"], row["operation"]) == (
            str(rejected.pk),
            "1",
            "new",
        )
        with endpoint(Receiver([(200, _accept_all)])):
            deliver(resend.pk)
        assert not exported_line_rejected_open_for_user(user=ledger.city_admin).exists()
        # Exactly once still holds for deltas; the re-sent line lives in its own batch kind.
        assert ExportedLine.objects.filter(record=rejected, batch_kind=BatchKind.DELTA).count() == 1
        assert run_batch().row_count == 0

    def test_a_rejected_record_corrected_since_goes_in_the_next_delta_not_a_resend(
        self, ledger, endpoint
    ):
        record = ledger.record()
        batch = run_batch()
        with endpoint(Receiver([(200, _reject(record.pk, 1, "时长超过活动时长"))])):
            deliver(batch.pk)
        record = ledger.correct(record, minutes=60)
        (line,) = exported_line_rejected_open_for_user(user=ledger.city_admin)
        assert line.record_changed
        with pytest.raises(ExportError) as refused:
            export_batch_start(kind=BatchKind.RESEND, fmt="csv", requested_by=ledger.city_admin)
        assert refused.value.code == "nothing_to_resend"
        delta = run_batch()
        assert list(delta.lines.values_list("record_id", "version", "operation")) == [
            (record.pk, 2, "new")
        ]
        assert not exported_line_rejected_open_for_user(user=ledger.city_admin).exists()


def run_batch_by_id(batch_id: int):
    from evaluation_export.services import export_batch_run

    batch = export_batch_run(batch_id=batch_id)
    assert batch.status == BatchStatus.DONE
    return batch
