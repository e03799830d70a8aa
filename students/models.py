import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from districts.models import District

from .identifiers import STUDENT_NUMBER_REGEX

SCHOOL_CODE_REGEX = r"\A[A-Za-z0-9]{4,16}\Z"


NATIONAL_ID_REGEX = r"\A[0-9]{17}[0-9X]\Z"


def new_personal_code() -> str:
    """An unguessable code the student shows as a QR for check-in."""
    return "P" + secrets.token_hex(8).upper()


class OrganiserLevel(models.TextChoices):
    """Who organised an activity; a base's certification level is one of the first four."""

    CITY = "city", _("City-certified base")
    DISTRICT = "district", _("District-certified base")
    SCHOOL = "school", _("School-contracted base")
    PROJECT = "project", _("Social practice project")
    SCHOOL_OWN = "school_own", _("School-organised activity")
    OTHER = "other", _("Other platform")


class Category(models.Model):
    """An activity category (志愿服务, 社会考察, ...); data the city admin may edit."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=32)
    name_en = models.CharField(_("English name"), max_length=64)
    counts_as_volunteer_service = models.BooleanField(
        _("counts toward volunteer service hours"), default=False
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("activity category")
        verbose_name_plural = _("activity categories")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class School(models.Model):
    code = models.CharField(
        _("school code"),
        max_length=16,
        unique=True,
        validators=[RegexValidator(SCHOOL_CODE_REGEX, _("Use 4-16 letters or digits."))],
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="schools"
    )

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["district__sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=SCHOOL_CODE_REGEX), name="school_code_format"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="school_name_not_empty"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name


class SchoolClass(models.Model):
    """A class of one school, known by its entry year (届) and number."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="classes"
    )
    entry_year = models.PositiveSmallIntegerField(
        _("entry year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    number = models.PositiveSmallIntegerField(
        _("class number"), validators=[MinValueValidator(1), MaxValueValidator(99)]
    )

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["school", "-entry_year", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "entry_year", "number"], name="class_unique_in_school"
            ),
            models.CheckConstraint(
                condition=Q(entry_year__gte=2000, entry_year__lte=2100),
                name="class_entry_year_range",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=99), name="class_number_range"
            ),
        ]

    def __str__(self):
        return f"{self.school} {self.name}"

    @property
    def name(self) -> str:
        return _("Entry %(year)s, class %(number)s") % {
            "year": self.entry_year,
            "number": self.number,
        }

    @property
    def graduation_year(self) -> int:
        return self.entry_year + 3

    def grade_on(self, day: date) -> int:
        """Grade 1-3 of senior high on a day; the school year starts on 1 September."""
        school_year = day.year if day.month >= 9 else day.year - 1
        return school_year - self.entry_year + 1


class TeacherRole(models.TextChoices):
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    SCHOOL_ADMIN = "school_admin", _("School admin")


class TeacherAssignment(models.Model):
    """A teacher's scope: head teacher of one class, or admin of a whole school."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="teacher_assignments",
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="staff"
    )
    school_class = models.ForeignKey(
        SchoolClass,
        verbose_name=_("class"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="teacher_assignments",
    )
    role = models.CharField(_("role"), max_length=20, choices=TeacherRole.choices)

    class Meta:
        verbose_name = _("teacher assignment")
        verbose_name_plural = _("teacher assignments")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role=TeacherRole.HEAD_TEACHER, school_class__isnull=False)
                    | Q(role=TeacherRole.SCHOOL_ADMIN, school_class__isnull=True)
                ),
                name="teacher_class_matches_role",
            ),
            models.UniqueConstraint(
                fields=["school_class"],
                condition=Q(role=TeacherRole.HEAD_TEACHER),
                name="one_head_teacher_per_class",
            ),
            models.UniqueConstraint(
                fields=["user", "school"],
                condition=Q(role=TeacherRole.SCHOOL_ADMIN),
                name="school_admin_once_per_school",
            ),
        ]

    def __str__(self):
        return f"{self.user} - {self.get_role_display()} - {self.school_class or self.school}"


class Student(models.Model):
    """A student; 学籍号 is the natural key everywhere and is stored as text."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="student",
    )
    student_number = models.CharField(
        _("student number"),
        max_length=32,
        unique=True,
        validators=[RegexValidator(STUDENT_NUMBER_REGEX, _("Use 6-32 letters or digits."))],
    )
    name = models.CharField(_("name"), max_length=64)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.PROTECT, related_name="students"
    )
    national_id = models.CharField(
        _("national ID number"),
        max_length=18,
        blank=True,
        validators=[
            RegexValidator(NATIONAL_ID_REGEX, _("Use 18 characters: 17 digits and a digit or X."))
        ],
    )
    personal_code = models.CharField(
        _("personal code"),
        max_length=32,
        unique=True,
        default=new_personal_code,
        editable=False,
        help_text=_("Shown as a QR code."),
    )

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["school_class", "student_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(student_number__regex=STUDENT_NUMBER_REGEX),
                name="student_number_format",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="student_name_not_empty"),
            models.CheckConstraint(
                condition=Q(national_id="") | Q(national_id__regex=NATIONAL_ID_REGEX),
                name="student_national_id_format",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.masked_student_number})"

    @property
    def school(self) -> School:
        return self.school_class.school

    @property
    def masked_student_number(self) -> str:
        return mask_identifier(self.student_number)

    @property
    def masked_national_id(self) -> str:
        return (
            mask_identifier(self.national_id, keep_start=3, keep_end=4) if self.national_id else ""
        )

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def mask_identifier(value: str, keep_start: int = 4, keep_end: int = 3) -> str:
    """`G310101200801011234` -> `G310************234`; short values keep less."""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_name(name: str) -> str:
    """张三明 -> 张*明, 张三 -> 张*, longer names keep only the first and last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class RequirementPolicy(models.Model):
    """The requirement for students from an entry year on; never constants in code."""

    effective_from_entry_year = models.PositiveSmallIntegerField(
        _("effective from entry year"), unique=True
    )
    volunteer_hours_required = models.PositiveSmallIntegerField(
        _("volunteer service hours (学时) required"), default=60
    )
    practice_days_required = models.PositiveSmallIntegerField(
        _("social practice days required"), default=90
    )
    minutes_per_credit_hour = models.PositiveSmallIntegerField(
        _("minutes per credit hour"), default=40
    )
    notice_days = models.PositiveSmallIntegerField(_("public notice days"), default=7)
    attendance_deadline_hours = models.PositiveSmallIntegerField(
        _("hours to record attendance after a session"), default=24
    )

    class Meta:
        verbose_name = _("requirement policy")
        verbose_name_plural = _("requirement policies")
        ordering = ["-effective_from_entry_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_per_credit_hour__gt=0), name="policy_minutes_positive"
            ),
            models.CheckConstraint(
                condition=Q(volunteer_hours_required__gt=0, practice_days_required__gt=0),
                name="policy_requirements_positive",
            ),
        ]

    def __str__(self):
        return _("Policy from entry year %(year)s") % {"year": self.effective_from_entry_year}


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
    SCHOOL = "school", _("Entered by school")
    TRANSFER = "transfer", _("Transferred from another platform")


class PracticeRecord(models.Model):
    """One credited entry in a student's ledger, whatever its source; changes make versions."""

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

    class Meta:
        verbose_name = _("practice record")
        verbose_name_plural = _("practice records")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["student", "status"]),
            models.Index(fields=["status", "notice_ends_on"]),
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

    @property
    def dates(self) -> list[date]:
        return dates_spanned(self.started_at, self.ended_at)

    @property
    def days(self) -> int:
        return len(self.dates)


def dates_spanned(started_at: datetime, ended_at: datetime) -> list[date]:
    """Calendar dates in Asia/Shanghai touched by [start, end); an end at midnight is exclusive."""
    start = timezone.localtime(started_at)
    end = timezone.localtime(ended_at - timedelta(microseconds=1))
    days = (end.date() - start.date()).days
    return [start.date() + timedelta(days=offset) for offset in range(days + 1)]


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
                fields=["record"],
                condition=Q(status=DisputeStatus.OPEN),
                name="one_open_dispute_per_record",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="dispute_reason_not_empty"),
            models.CheckConstraint(
                condition=Q(status=DisputeStatus.OPEN) | ~Q(answer=""),
                name="dispute_answer_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.record} - {self.get_status_display()}"


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
