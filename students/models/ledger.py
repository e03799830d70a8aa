"""The ledger: practice records, their versions, disputes about them and certificates."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from districts.models import District
from portal.models import Role

from .policy import Category, OrganiserLevel
from .schools import Student, mask_name


class RecordStatus(models.TextChoices):
    IN_NOTICE = "in_notice", _("In public notice")
    DISPUTED = "disputed", _("Disputed")
    FINAL = "final", _("Final")
    REVOKED = "revoked", _("Revoked")


class RecordedVia(models.TextChoices):
    ROSTER = "roster", _("Roster")
    SCAN = "scan", _("Code scan")
    IMPORT = "import", _("Spreadsheet import")
    API = "api", _("Base API")
    SELF = "self", _("Self check-in")
    SCHOOL = "school", _("Entered by school")
    TRANSFER = "transfer", _("Transferred from another platform")
    PLATFORM = "platform", _("Imported from another platform")


#: The fields of a record that the per-student totals (`StudentTotal`) depend on.
TOTALS_FIELDS = frozenset(
    {"student", "student_id", "category", "category_id", "status", "credited_minutes"}
    | {"started_at", "ended_at"}
)


def _totals_refresh(student_ids) -> None:
    """Recompute the `StudentTotal` rows of these students from their records, in the current
    transaction (the rule lives in `students.progress.stored`, above the models)."""
    from ..progress.stored import totals_refresh

    totals_refresh(student_ids)


def _touches_totals(fields) -> bool:
    return fields is None or bool(TOTALS_FIELDS.intersection(fields))


class PracticeRecordQuerySet(models.QuerySet):
    """Every bulk write of records refreshes the totals of the students it touched, in the
    same transaction: a new write path cannot forget them. (`bulk_update` goes through
    `update`.)"""

    def _student_ids(self) -> set[int]:
        return set(self.order_by().values_list("student_id", flat=True).distinct())

    def update(self, **kwargs):
        if not _touches_totals(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            ids = self._student_ids()
            new_student = kwargs.get("student_id", kwargs.get("student"))
            new_student = getattr(new_student, "pk", new_student)
            if isinstance(new_student, int):
                ids.add(new_student)
            count = super().update(**kwargs)
            if new_student is not None and not isinstance(new_student, int):
                ids |= self._student_ids()  # an expression (bulk_update's): read them back
            _totals_refresh(ids)
        return count

    update.alters_data = True

    def delete(self):
        with transaction.atomic(using=self.db):
            ids = self._student_ids()
            result = super().delete()
            _totals_refresh(ids)
        return result

    delete.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            _totals_refresh({obj.student_id for obj in objs})
        return created


class PracticeRecord(models.Model):
    """One credited entry in a student's ledger, whatever its source; changes make versions.

    Every write (save, delete, and the queryset's update, delete, bulk_create, bulk_update)
    refreshes the student's `StudentTotal` in the same transaction; raw SQL does not, so a
    bulk load ends with `totals_rebuild` (and the nightly reconciliation would report it).
    """

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="records"
    )
    source_ref = models.CharField(_("source reference"), max_length=100, unique=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="records"
    )
    title = models.CharField(_("activity"), max_length=200)
    organiser_name = models.CharField(_("organiser"), max_length=200)
    organiser_level = models.CharField(
        _("organiser level"), max_length=16, choices=OrganiserLevel.choices
    )
    # Who answers for the record, "<kind>:<id>" as `students.organisers` registers kinds; a
    # plain string so the ledger needs none of the organising apps.
    organiser_ref = models.CharField(
        _("organiser reference"), max_length=40, blank=True, default="", db_index=True
    )
    district = models.ForeignKey(
        District,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    credited_minutes = models.PositiveIntegerField(_("credited minutes"))
    # Minutes beyond the safety policy's caps (per day, per record), waiting for the school's
    # review: counted nowhere until released into `credited_minutes`.
    held_minutes = models.PositiveIntegerField(
        _("minutes held for review"), default=0, db_default=0
    )
    # Held minutes the school refused to credit, kept so the source's claim stays known.
    rejected_minutes = models.PositiveIntegerField(
        _("held minutes rejected"), default=0, db_default=0
    )
    recorded_via = models.CharField(_("recorded via"), max_length=16, choices=RecordedVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.IN_NOTICE
    )
    notice_ends_on = models.DateField(_("notice ends on"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("became final"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = PracticeRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("practice record")
        verbose_name_plural = _("practice records")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["student", "status"]),
            models.Index(fields=["status", "notice_ends_on"]),
            models.Index(
                fields=["student"], condition=Q(held_minutes__gt=0), name="record_held_for_review"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(started_at__lt=F("ended_at")), name="record_starts_before_end"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="record_version_positive"),
            models.CheckConstraint(
                condition=~Q(status=RecordStatus.IN_NOTICE) | Q(notice_ends_on__isnull=False),
                name="record_in_notice_has_end",
            ),
            models.CheckConstraint(
                condition=~Q(status=RecordStatus.FINAL) | Q(confirmed_at__isnull=False),
                name="record_final_has_time",
            ),
            models.CheckConstraint(condition=~Q(source_ref=""), name="record_source_ref_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=RecordStatus.values), name="record_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(recorded_via__in=RecordedVia.values), name="record_recorded_via_valid"
            ),
        ]

    def __str__(self):
        return f"{self.student.name} {self.title} {self.started_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not _touches_totals(kwargs.get("update_fields")):
            return super().save(*args, **kwargs)
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            _totals_refresh({self.student_id, getattr(self, "_totals_student_id", None)} - {None})
        self._totals_student_id = self.student_id

    save.alters_data = True

    def delete(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using")):
            result = super().delete(*args, **kwargs)
            _totals_refresh({self.student_id})
        return result

    delete.alters_data = True

    @classmethod
    def from_db(cls, db, field_names, values):
        record = super().from_db(db, field_names, values)
        # The student as loaded: a save that moves the record refreshes both students.
        record._totals_student_id = record.__dict__.get("student_id")
        return record

    @property
    def dates(self) -> list[date]:
        return dates_spanned(self.started_at, self.ended_at)

    @property
    def claimed_minutes(self) -> int:
        """What the source said: credited, held for review and refused after review."""
        return self.credited_minutes + self.held_minutes + self.rejected_minutes

    @property
    def days(self) -> int:
        return len(self.dates)


ONE_MICROSECOND = timedelta(microseconds=1)


def dates_spanned(started_at: datetime | date, ended_at: datetime) -> list[date]:
    """Calendar dates in Asia/Shanghai touched by [start, end); an end at midnight is exclusive.

    `started_at` may also be the local date a record starts on, as the ledger's grouped rows
    hold it (records starting on one date, up to the latest end among them); whatever the
    inputs, the first date is always counted.
    """
    tz = timezone.get_default_timezone()
    if isinstance(started_at, datetime):
        first = timezone.localtime(started_at, tz).date()
    else:
        first = started_at
    last = timezone.localtime(ended_at - ONE_MICROSECOND, tz).date()
    return [first + timedelta(days=offset) for offset in range(max(0, (last - first).days) + 1)]


class StudentTotal(models.Model):
    """A student's totals over their counted (in_notice, final) records, kept exact by every
    write of a record (`PracticeRecord`) in the same transaction; what the completion reports
    read instead of the ledger. Only figures that do not depend on the date or the policy are
    stored: the forecasts are worked out when read. A student without a row has no counted
    record. `manage.py totals_reconcile` (nightly) checks them against the ledger."""

    student = models.OneToOneField(
        Student,
        verbose_name=_("student"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="totals",
    )
    volunteer_minutes = models.PositiveIntegerField(_("volunteer minutes"), default=0)
    practice_days = models.PositiveIntegerField(_("practice days"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)

    class Meta:
        verbose_name = _("student totals")
        verbose_name_plural = _("student totals")

    def __str__(self):
        return f"{self.student_id}: {self.volunteer_minutes} min, {self.practice_days} days"


class PracticeRecordVersion(models.Model):
    """The state of a record at one version, with who changed it, when and why."""

    record = models.ForeignKey(
        PracticeRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("activity"), max_length=200)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    credited_minutes = models.PositiveIntegerField(_("credited minutes"))
    held_minutes = models.PositiveIntegerField(
        _("minutes held for review"), default=0, db_default=0
    )
    status = models.CharField(_("status"), max_length=16, choices=RecordStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")
        ordering = ["record", "version"]
        constraints = [
            models.UniqueConstraint(fields=["record", "version"], name="record_version_unique"),
            models.CheckConstraint(
                condition=Q(started_at__lt=F("ended_at")), name="record_version_starts_before_end"
            ),
        ]

    def __str__(self):
        return f"{self.record_id} v{self.version}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    CORRECTED = "corrected", _("Corrected")
    REVOKED = "revoked", _("Revoked")


class DisputeAbout(models.TextChoices):
    RECORD = "record", _("The record")
    REFLECTION = "reflection", _("The reflection")


class Dispute(models.Model):
    """An objection (异议) to a record in notice; the base answers it with a reason."""

    record = models.ForeignKey(
        PracticeRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="disputes"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # What is objected to: the record's facts, or the student's reflection on it (which does
    # not hold the record: only the reflection waits for the answer).
    about = models.CharField(
        _("about"), max_length=16, choices=DisputeAbout.choices, default=DisputeAbout.RECORD
    )
    reason = models.TextField(_("reason"))
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "about"],
                condition=Q(status=DisputeStatus.OPEN),
                name="one_open_dispute_per_record",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="dispute_reason_not_empty"),
            models.CheckConstraint(
                condition=Q(about__in=DisputeAbout.values), name="dispute_about_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=DisputeStatus.OPEN) | ~Q(answer=""),
                name="dispute_answer_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.record} - {self.get_status_display()}"

    @property
    def raiser_name(self) -> str:
        """Who raised it, as pages show it: a classmate objecting to a reflection is masked
        (张*明), since the organiser and the student need not know which classmate it was."""
        name = self.raised_by.get_full_name()
        if self.about == DisputeAbout.REFLECTION and self.raised_by.role == Role.STUDENT:
            return mask_name(name)
        return name


class Certificate(models.Model):
    """A printed proof (证明) of a student's records; anyone can verify it by its code."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="certificates"
    )
    code = models.CharField(_("verification code"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the certificate said when issued: totals and each record's (id, version).
    snapshot = models.JSONField(_("contents when issued"), default=dict)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"\A[A-Za-z0-9_-]{20,64}\Z"),
                name="certificate_code_unguessable",
            ),
        ]

    def __str__(self):
        return f"{self.student.name} {self.issued_at:%Y-%m-%d}"
