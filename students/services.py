"""Writes to schools, students and the ledger. Other apps write records only through here."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from districts.models import District
from portal.models import User
from portal.services import audit_log_record, audit_log_record_many, notification_send_bulk

from .credit_caps import CreditTally, credit_split, window_of
from .guardians import student_notification_send, student_notifications_send_bulk
from .messages import (
    HELD_REJECTED,
    HELD_RELEASED,
    HELD_TO_REVIEW,
    RECORD_CORRECTED,
    RECORD_FINAL,
    RECORD_HELD,
    RECORD_IN_NOTICE,
    RECORD_REVOKED,
    RECORDS_IN_NOTICE,
    record_label,
    record_url,
)
from .models import (
    Category,
    PracticeRecord,
    PracticeRecordVersion,
    RecordStatus,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from .policies import PolicyBook, policy_for_entry_year


class LedgerError(ValidationError):
    """A refused change to the ledger; `code` says which rule refused it."""


@dataclass(frozen=True)
class RecordFacts:
    """What a source knows about one credited activity of one student."""

    student: Student
    category: Category
    title: str
    organiser_name: str
    organiser_level: str
    district: District | None
    started_at: datetime
    ended_at: datetime
    credited_minutes: int
    recorded_via: str
    # Who answers for the record: "<kind>:<id>" (`students.organisers.organiser_ref`).
    organiser_ref: str = ""


#: The facts that say what happened: the same source with other values here is a conflict.
COMPARED_FACTS = (
    "category",
    "title",
    "organiser_name",
    "organiser_level",
    "district",
    "started_at",
    "ended_at",
    "credited_minutes",
)
#: Every fact stored on a new record; how and by whom it arrived is not compared.
FACT_FIELDS = (*COMPARED_FACTS, "recorded_via", "organiser_ref")
#: The fields each version keeps.
VERSIONED_FIELDS = (
    "category_id",
    "title",
    "started_at",
    "ended_at",
    "credited_minutes",
    "held_minutes",
    "status",
)


def _fact_of(record: PracticeRecord, name: str):
    """A stored record's value of a fact, as its source gave it (credit: the claim)."""
    return record.claimed_minutes if name == "credited_minutes" else getattr(record, name)


def _check_facts(facts: RecordFacts) -> None:
    if facts.started_at >= facts.ended_at:
        raise LedgerError(_("A record must end after it starts."), code="ends_before_start")
    longest = int((facts.ended_at - facts.started_at).total_seconds() // 60)
    if not 0 <= facts.credited_minutes <= longest:
        raise LedgerError(
            _("Credited minutes must lie between 0 and the duration (%(longest)s minutes)."),
            code="credit_out_of_range",
            params={"longest": longest},
        )


def practice_record_overlapping(
    *, student: Student, started_at: datetime, ended_at: datetime, exclude_pk: int | None = None
) -> PracticeRecord | None:
    """The student's first live record whose interval overlaps [start, end), if any."""
    return (
        PracticeRecord.objects.filter(
            student=student, started_at__lt=ended_at, ended_at__gt=started_at
        )
        .exclude(status=RecordStatus.REVOKED)
        .exclude(pk=exclude_pk)
        .order_by("started_at")
        .first()
    )


def _check_no_overlap(
    *, student: Student, started_at: datetime, ended_at: datetime, exclude_pk: int | None = None
) -> None:
    """A student cannot be in two places at once: their live records never overlap in time."""
    # Lock the student so two concurrent writes for one student cannot both pass this check.
    Student.objects.select_for_update().filter(pk=student.pk).exists()
    other = practice_record_overlapping(
        student=student, started_at=started_at, ended_at=ended_at, exclude_pk=exclude_pk
    )
    if other is not None:
        start, end = timezone.localtime(other.started_at), timezone.localtime(other.ended_at)
        raise LedgerError(
            _("%(name)s already has a record at that time: %(title)s, %(start)s–%(end)s."),
            code="overlap",
            params={
                "name": student.name,
                "title": other.title,
                "start": date_format(start, "Y-m-d H:i"),
                "end": date_format(end, "H:i")
                if end.date() == start.date()
                else date_format(end, "Y-m-d H:i"),
            },
        )


def practice_record_overlap_check(*, student: Student, started_at: datetime, ended_at: datetime):
    """The one-ledger rule for a record written outside `practice_record_upsert` (a package)."""
    _check_no_overlap(student=student, started_at=started_at, ended_at=ended_at)


def _version_snapshot(*, record: PracticeRecord, changed_by: User | None, reason: str) -> None:
    PracticeRecordVersion.objects.create(
        record=record,
        version=record.version,
        **{name: getattr(record, name) for name in VERSIONED_FIELDS},
        changed_by=changed_by,
        reason=reason,
    )


def notice_end_for(*, student: Student, today: date | None = None) -> date:
    policy = policy_for_entry_year(entry_year=student.school_class.entry_year)
    return (today or timezone.localdate()) + timedelta(days=policy.notice_days)


@transaction.atomic
def practice_record_upsert(
    *, source_ref: str, facts: RecordFacts, recorded_by: User | None, reason: str = ""
) -> tuple[PracticeRecord, bool]:
    """Create the record for `source_ref` in public notice, or return it unchanged if it exists.

    Returns (record, created). The same source with different facts is refused: changes go
    through `practice_record_correct`, which keeps the reason and a new version. `reason` says
    why a record is created by hand (a correction of a no-show); it goes into version 1.
    """
    _check_facts(facts)
    record = PracticeRecord.objects.select_for_update().filter(source_ref=source_ref).first()
    if record is not None:
        if any(_fact_of(record, name) != getattr(facts, name) for name in COMPARED_FACTS):
            raise LedgerError(
                _("Record %(ref)s already exists with other values; correct it with a reason."),
                code="source_ref_conflict",
                params={"ref": source_ref},
            )
        return record, False
    _check_no_overlap(student=facts.student, started_at=facts.started_at, ended_at=facts.ended_at)
    credited, held = credit_split(
        student=facts.student,
        started_at=facts.started_at,
        ended_at=facts.ended_at,
        minutes=facts.credited_minutes,
    )
    record = PracticeRecord.objects.create(
        source_ref=source_ref,
        student=facts.student,
        **{name: getattr(facts, name) for name in FACT_FIELDS if name != "credited_minutes"},
        credited_minutes=credited,
        held_minutes=held,
        recorded_by=recorded_by,
        status=RecordStatus.IN_NOTICE,
        notice_ends_on=notice_end_for(student=facts.student),
        version=1,
    )
    _version_snapshot(record=record, changed_by=recorded_by, reason=reason.strip())
    audit_log_record(
        actor=recorded_by,
        action="record.create",
        target=record,
        data={
            "source_ref": source_ref,
            "credited_minutes": credited,
            **({"held_minutes": held} if held else {}),
            **({"reason": reason.strip()} if reason.strip() else {}),
        },
    )
    _tell_student(
        record,
        RECORD_IN_NOTICE,
        until=date_format(record.notice_ends_on, "Y-m-d"),
    )
    if held:
        _tell_held(record)
    return record, True


def _tell_held(record: PracticeRecord) -> None:
    """Tell the student, their school's admins and their head teacher of held minutes."""
    _tell_student(record, RECORD_HELD, minutes=record.held_minutes)
    school_class = record.student.school_class
    reviewers = User.objects.filter(
        Q(
            teacher_assignments__role=TeacherRole.SCHOOL_ADMIN,
            teacher_assignments__school_id=school_class.school_id,
        )
        | Q(
            teacher_assignments__role=TeacherRole.HEAD_TEACHER,
            teacher_assignments__school_class=school_class,
        ),
        is_active=True,
    ).distinct()
    params = {
        "record": record_label(record),
        "name": record.student.name,
        "minutes": record.held_minutes,
    }
    notification_send_bulk(
        message=HELD_TO_REVIEW,
        items=[(user, params, reverse("students:held-review")) for user in reviewers],
    )


def _tell_student(record: PracticeRecord, message, **params) -> None:
    """Tell the record's student (if they have a login) what happened to it."""
    student_notification_send(
        student=record.student,
        message=message,
        params={"record": record_label(record), **params},
        url=record_url(record),
    )


#: Records written per round of a bulk write (each round: a few statements per table).
BULK_CHUNK = 1000
#: Values per `IN (...)` list (SQLite takes at most 32,766).
IN_CHUNK = 5000
CREATED, EXISTING, OVERLAPS = "created", "existing", "overlaps"


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@transaction.atomic
def practice_records_create_bulk(
    *,
    items: list[tuple[str, RecordFacts]],
    recorded_by: User | None,
    progress=None,
) -> list[tuple[str, PracticeRecord]]:
    """`practice_record_upsert` for many records (an import of thousands of rows), set-based.

    For each (source_ref, facts), in order: (EXISTING, the record) when the source is already in
    the ledger with the same facts (other facts: LedgerError `source_ref_conflict`, and nothing
    is written); (OVERLAPS, the student's live record it overlaps, maybe one written earlier
    in this call), which is then not written; else (CREATED, the new record) in notice, its
    minutes split by the credit caps as one write after another would, with its version, its
    audit entry and the notifications. The students are locked first (in id order), their live
    records read once; the writes go in rounds of `BULK_CHUNK`, after each of which
    `progress(done)` is called. The facts' students need their `school_class`.
    """
    for _ref, facts in items:
        _check_facts(facts)
    if not items:
        return []
    students = {facts.student.pk: facts.student for _ref, facts in items}
    for ids in _chunks(sorted(students), IN_CHUNK):
        list(Student.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    first = min(window_of(f.started_at, f.ended_at)[0] for _r, f in items)
    last = max(window_of(f.started_at, f.ended_at)[1] for _r, f in items)
    tally = CreditTally()
    taken: dict[int, list[PracticeRecord]] = {}
    for ids in _chunks(sorted(students), IN_CHUNK):
        live = (
            PracticeRecord.objects.filter(
                student_id__in=ids, started_at__lt=last, ended_at__gt=first
            )
            .exclude(status=RecordStatus.REVOKED)
            .only("pk", "student_id", "title", "started_at", "ended_at", "credited_minutes")
            .order_by("started_at", "pk")
        )
        for record in live:
            taken.setdefault(record.student_id, []).append(record)
            tally.add(
                record.student_id, record.started_at, record.ended_at, record.credited_minutes
            )
    policies = PolicyBook()
    today = timezone.localdate()
    outcomes: list[tuple[str, PracticeRecord]] = []
    for chunk in _chunks(items, BULK_CHUNK):
        known = {
            record.source_ref: record
            for record in PracticeRecord.objects.filter(source_ref__in=[ref for ref, _f in chunk])
        }
        new: list[PracticeRecord] = []
        for ref, facts in chunk:
            record = known.get(ref)
            if record is not None:
                if any(_fact_of(record, name) != getattr(facts, name) for name in COMPARED_FACTS):
                    raise LedgerError(
                        _("Record %(ref)s already exists with other values; correct it with a "
                          "reason."),
                        code="source_ref_conflict",
                        params={"ref": ref},
                    )  # fmt: skip
                outcomes.append((EXISTING, record))
                continue
            mine = taken.setdefault(facts.student.pk, [])
            other = min(
                (
                    r
                    for r in mine
                    if r.started_at < facts.ended_at and r.ended_at > facts.started_at
                ),
                key=lambda r: r.started_at,
                default=None,
            )
            if other is not None:
                outcomes.append((OVERLAPS, other))
                continue
            credited, held = tally.split(
                facts.student.pk, facts.started_at, facts.ended_at, facts.credited_minutes
            )
            policy = policies.for_entry_year(facts.student.school_class.entry_year)
            record = PracticeRecord(
                source_ref=ref,
                student=facts.student,
                **{
                    name: getattr(facts, name) for name in FACT_FIELDS if name != "credited_minutes"
                },
                credited_minutes=credited,
                held_minutes=held,
                recorded_by=recorded_by,
                status=RecordStatus.IN_NOTICE,
                notice_ends_on=today + timedelta(days=policy.notice_days),
                version=1,
            )
            mine.append(record)
            new.append(record)
            outcomes.append((CREATED, record))
        # The ledger's queryset refreshes these students' totals in the same transaction.
        PracticeRecord.objects.bulk_create(new, batch_size=BULK_CHUNK)
        _created_follow_up(new, recorded_by=recorded_by)
        if progress is not None:
            progress(len(outcomes))
    return outcomes


def _created_follow_up(records: list[PracticeRecord], *, recorded_by: User | None) -> None:
    """What `practice_record_upsert` does after writing a record, for a batch of new records:
    version 1, the audit entry, the student's notice and the held minutes' reviewers."""
    if not records:
        return
    # One reverse() for the batch: each record's page differs only by its id.
    pattern = reverse("students:record-detail", args=[987654321])
    url_of = {record.pk: pattern.replace("987654321", str(record.pk)) for record in records}
    PracticeRecordVersion.objects.bulk_create(
        [
            PracticeRecordVersion(
                record=record,
                version=record.version,
                **{name: getattr(record, name) for name in VERSIONED_FIELDS},
                changed_by=recorded_by,
                reason="",
            )
            for record in records
        ],
        batch_size=BULK_CHUNK,
    )
    audit_log_record_many(
        actor=recorded_by,
        action="record.create",
        entries=[
            (
                record,
                {
                    "source_ref": record.source_ref,
                    "credited_minutes": record.credited_minutes,
                    **({"held_minutes": record.held_minutes} if record.held_minutes else {}),
                },
            )
            for record in records
        ],
    )
    # Each student is told once: of their record, or of how many (a batch may hold dozens).
    by_student: dict[int, list[PracticeRecord]] = {}
    for record in records:
        by_student.setdefault(record.student_id, []).append(record)
    one = [mine[0] for mine in by_student.values() if len(mine) == 1]
    many = [mine for mine in by_student.values() if len(mine) > 1]
    student_notifications_send_bulk(
        message=RECORD_IN_NOTICE,
        items=[
            (
                record.student,
                {
                    "record": record_label(record),
                    "until": date_format(record.notice_ends_on, "Y-m-d"),
                },
                url_of[record.pk],
            )
            for record in one
        ],
    )
    records_url = reverse("students:my-records")
    student_notifications_send_bulk(
        message=RECORDS_IN_NOTICE,
        items=[
            (
                mine[0].student,
                {
                    "count": len(mine),
                    "record": record_label(min(mine, key=lambda r: r.started_at)),
                    "until": date_format(max(r.notice_ends_on for r in mine), "Y-m-d"),
                },
                records_url,
            )
            for mine in many
        ],
    )
    held = [record for record in records if record.held_minutes]
    if not held:
        return
    student_notifications_send_bulk(
        message=RECORD_HELD,
        items=[
            (
                record.student,
                {"record": record_label(record), "minutes": record.held_minutes},
                url_of[record.pk],
            )
            for record in held
        ],
    )
    classes = {record.student.school_class for record in held}
    assignments = TeacherAssignment.objects.filter(
        Q(role=TeacherRole.SCHOOL_ADMIN, school_id__in={c.school_id for c in classes})
        | Q(role=TeacherRole.HEAD_TEACHER, school_class__in=classes),
        user__is_active=True,
    ).select_related("user")
    by_school: dict[int, set[User]] = {}
    by_class: dict[int, set[User]] = {}
    for assignment in assignments:
        if assignment.role == TeacherRole.SCHOOL_ADMIN:
            by_school.setdefault(assignment.school_id, set()).add(assignment.user)
        else:
            by_class.setdefault(assignment.school_class_id, set()).add(assignment.user)
    rows = []
    for record in held:
        school_class = record.student.school_class
        params = {
            "record": record_label(record),
            "name": record.student.name,
            "minutes": record.held_minutes,
        }
        reviewers = by_school.get(school_class.school_id, set()) | by_class.get(
            school_class.pk, set()
        )
        rows.extend((user, params, reverse("students:held-review")) for user in reviewers)
    notification_send_bulk(message=HELD_TO_REVIEW, items=rows)


@transaction.atomic
def practice_record_correct(
    *,
    record: PracticeRecord,
    started_at: datetime,
    ended_at: datetime,
    credited_minutes: int,
    changed_by: User,
    reason: str,
    tell_student: bool = True,
) -> PracticeRecord:
    """Change a record's times or credit with a reason; the record gets a new version.

    The student is told, unless the caller tells them itself (a dispute's answer does).
    """
    if not reason.strip():
        raise LedgerError(_("A correction needs a reason."), code="reason_required")
    record = PracticeRecord.objects.select_for_update().get(pk=record.pk)
    if record.status == RecordStatus.REVOKED:
        raise LedgerError(_("A revoked record cannot be corrected."), code="revoked")
    before = {
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat(),
        "credited_minutes": record.credited_minutes,
    }
    facts = RecordFacts(
        student=record.student,
        category=record.category,
        title=record.title,
        organiser_name=record.organiser_name,
        organiser_level=record.organiser_level,
        district=record.district,
        started_at=started_at,
        ended_at=ended_at,
        credited_minutes=credited_minutes,
        recorded_via=record.recorded_via,
        organiser_ref=record.organiser_ref,
    )
    _check_facts(facts)
    _check_no_overlap(
        student=record.student, started_at=started_at, ended_at=ended_at, exclude_pk=record.pk
    )
    credited, held = credit_split(
        student=record.student,
        started_at=started_at,
        ended_at=ended_at,
        minutes=credited_minutes,
        exclude_pk=record.pk,
    )
    was_held = record.held_minutes
    record.started_at, record.ended_at = started_at, ended_at
    record.credited_minutes, record.held_minutes, record.rejected_minutes = credited, held, 0
    record.version += 1
    record.save()
    _version_snapshot(record=record, changed_by=changed_by, reason=reason)
    audit_log_record(
        actor=changed_by,
        action="record.correct",
        target=record,
        data={
            "reason": reason,
            "version": record.version,
            "before": before,
            "after": {
                "started_at": started_at.isoformat(),
                "ended_at": ended_at.isoformat(),
                "credited_minutes": credited,
                "held_minutes": held,
            },
        },
    )
    if tell_student:
        _tell_student(record, RECORD_CORRECTED, minutes=credited, reason=reason)
    if held > was_held:
        _tell_held(record)
    return record


def _check_reviewer(*, record: PracticeRecord, user: User) -> None:
    """Held minutes are decided by the student's school admin or head teacher."""
    school_class = record.student.school_class
    assignments = TeacherAssignment.objects.filter(user=user)
    allowed = assignments.filter(
        Q(role=TeacherRole.SCHOOL_ADMIN, school_id=school_class.school_id)
        | Q(role=TeacherRole.HEAD_TEACHER, school_class=school_class)
    ).exists()
    if not allowed:
        raise LedgerError(
            _("Held minutes are reviewed by the student's school admin or head teacher."),
            code="not_authorised",
        )


def _decide_held(*, record: PracticeRecord, decided_by: User, reason: str, release: bool):
    reason = " ".join(reason.split())
    if not reason:
        raise LedgerError(_("Give a reason: the student is told it."), code="reason_required")
    record = (
        PracticeRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "student__user")
        .get(pk=record.pk)
    )
    _check_reviewer(record=record, user=decided_by)
    if record.held_minutes == 0:
        raise LedgerError(_("This record has no minutes held for review."), code="nothing_held")
    if record.status == RecordStatus.REVOKED:
        raise LedgerError(_("A revoked record cannot be changed."), code="revoked")
    minutes = record.held_minutes
    if release:
        record.credited_minutes += minutes
    else:
        record.rejected_minutes += minutes
    record.held_minutes = 0
    record.version += 1
    record.save()
    _version_snapshot(record=record, changed_by=decided_by, reason=reason)
    audit_log_record(
        actor=decided_by,
        action="record.held_release" if release else "record.held_reject",
        target=record,
        data={"reason": reason, "minutes": minutes, "version": record.version},
    )
    _tell_student(
        record,
        HELD_RELEASED if release else HELD_REJECTED,
        minutes=minutes,
        reason=reason,
    )
    return record


@transaction.atomic
def practice_record_held_release(
    *, record: PracticeRecord, decided_by: User, reason: str
) -> PracticeRecord:
    """Credit a record's held minutes after all (the long day was real), with a reason."""
    return _decide_held(record=record, decided_by=decided_by, reason=reason, release=True)


@transaction.atomic
def practice_record_held_reject(
    *, record: PracticeRecord, decided_by: User, reason: str
) -> PracticeRecord:
    """Refuse a record's held minutes, with a reason; the credited part stands."""
    return _decide_held(record=record, decided_by=decided_by, reason=reason, release=False)


@transaction.atomic
def practice_record_revoke(
    *, record: PracticeRecord, revoked_by: User, reason: str, tell_student: bool = True
) -> PracticeRecord:
    """Revoke a record with a reason; it stays in the ledger, shown apart, as a new version.

    The student is told, unless the caller tells them itself (a dispute's answer does).
    """
    if not reason.strip():
        raise LedgerError(_("A revocation needs a reason."), code="reason_required")
    record = PracticeRecord.objects.select_for_update().get(pk=record.pk)
    if record.status == RecordStatus.REVOKED:
        return record
    record.status = RecordStatus.REVOKED
    record.version += 1
    record.save()
    _version_snapshot(record=record, changed_by=revoked_by, reason=reason)
    audit_log_record(
        actor=revoked_by,
        action="record.revoke",
        target=record,
        data={"reason": reason, "version": record.version},
    )
    if tell_student:
        _tell_student(record, RECORD_REVOKED, reason=reason)
    return record


# Records made final per transaction: keeps each lock set and each `IN (...)` list bounded
# (PostgreSQL takes at most 65,535 parameters per query, SQLite builds fewer).
FINALISE_BATCH = 1000


def practice_records_finalise(*, today: date | None = None) -> int:
    """Make final every record whose notice has ended with no open dispute; returns the count.

    Disputed records have status `disputed`, so they wait for the answer. Runs in batches, each
    its own transaction; records locked by a concurrent dispute are left for the next run.
    """
    today = today or timezone.localdate()
    total = 0
    while True:
        done = _practice_records_finalise_batch(today=today)
        total += done
        if done < FINALISE_BATCH:
            return total


@transaction.atomic
def _practice_records_finalise_batch(*, today: date) -> int:
    now = timezone.now()
    due = list(
        PracticeRecord.objects.select_for_update(skip_locked=True)
        .filter(status=RecordStatus.IN_NOTICE, notice_ends_on__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)[:FINALISE_BATCH]
    )
    if not due:
        return 0
    done = PracticeRecord.objects.filter(pk__in=due, status=RecordStatus.IN_NOTICE).update(
        status=RecordStatus.FINAL, confirmed_at=now, updated_at=now
    )
    final = PracticeRecord.objects.filter(
        pk__in=due, status=RecordStatus.FINAL, confirmed_at=now
    ).select_related("student__user")
    student_notifications_send_bulk(
        message=RECORD_FINAL,
        items=[
            (record.student, {"record": record_label(record)}, record_url(record))
            for record in final
        ],
    )
    return done
