from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from districts.models import District
from students.models import (
    Category,
    RecordedVia,
    School,
    SchoolClass,
    Student,
)

BASE_CODE_REGEX = r"\A[A-Za-z0-9-]{1,32}\Z"


class BaseLevel(models.TextChoices):
    CITY = "city", _("City-certified base")
    DISTRICT = "district", _("District-certified base")
    SCHOOL = "school", _("School-contracted base")
    PROJECT = "project", _("Social practice project")


class BaseStatus(models.TextChoices):
    PENDING = "pending", _("Pending certification")
    CERTIFIED = "certified", _("Certified")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


class Base(models.Model):
    """A venue or organisation that hosts students (社会实践基地), or a time-limited project."""

    code = models.CharField(
        _("base code"),
        max_length=32,
        unique=True,
        validators=[RegexValidator(BASE_CODE_REGEX, _("Use letters, digits and hyphens."))],
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=BaseLevel.choices)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="bases"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("certification status"),
        max_length=16,
        choices=BaseStatus.choices,
        default=BaseStatus.PENDING,
    )
    certified_until = models.DateField(_("certified until"), null=True, blank=True)
    certified_at = models.DateTimeField(_("certified at"), null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("certified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contracted_schools = models.ManyToManyField(
        School,
        verbose_name=_("contracted schools"),
        through="SchoolContract",
        related_name="contracted_bases",
        blank=True,
    )

    class Meta:
        verbose_name = _("base")
        verbose_name_plural = _("bases")
        ordering = ["district__sort_order", "code"]
        indexes = [models.Index(fields=["status", "certified_until"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=BASE_CODE_REGEX), name="base_code_format"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="base_name_not_empty"),
            models.CheckConstraint(
                condition=Q(level__in=BaseLevel.values), name="base_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BaseStatus.values), name="base_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=BaseStatus.CERTIFIED) | Q(certified_until__isnull=False),
                name="base_certified_has_expiry",
            ),
        ]

    def __str__(self):
        return self.name


class SchoolContract(models.Model):
    """A school's contract with a base (学校签约基地): its students may see the base's posts."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="contracts"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="base_contracts"
    )
    valid_until = models.DateField(_("valid until"))
    contracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("contracted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("school contract")
        verbose_name_plural = _("school contracts")
        constraints = [
            models.UniqueConstraint(fields=["base", "school"], name="contract_unique"),
        ]

    def __str__(self):
        return f"{self.school} - {self.base}"


class Coordinator(models.Model):
    """A base's staff member who publishes posts and records attendance."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="coordinator_roles",
    )
    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="coordinators"
    )

    class Meta:
        verbose_name = _("coordinator")
        verbose_name_plural = _("coordinators")
        constraints = [
            models.UniqueConstraint(fields=["user", "base"], name="coordinator_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.base}"


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")


GRADES_REGEX = r"\A1?2?3?\Z"


class Post(models.Model):
    """A role at a base (岗位) that students apply for through its sessions."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=100)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="posts"
    )
    description = models.TextField(_("description"), blank=True)
    requirements = models.TextField(_("requirements"), blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    eligible_grades = models.CharField(
        _("eligible grades"),
        max_length=3,
        default="123",
        help_text=_("Grades of senior high that may apply, e.g. 12 for grades 1 and 2."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PostStatus.choices, default=PostStatus.DRAFT
    )
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["base", "title"]
        indexes = [models.Index(fields=["status", "base"])]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="post_title_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=PostStatus.values), name="post_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(eligible_grades__regex=GRADES_REGEX) & ~Q(eligible_grades=""),
                name="post_grades_format",
            ),
        ]

    def __str__(self):
        return f"{self.title} - {self.base}"


class Allocation(models.TextChoices):
    FIRST_COME = "first_come", _("First come, first served")
    LOTTERY = "lottery", _("Lottery")


class Session(models.Model):
    """A dated time slot of a post (场次) with a capacity."""

    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="sessions"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("capacity"))
    taken = models.PositiveIntegerField(_("seats taken"), default=0)
    allocation = models.CharField(
        _("allocation"), max_length=16, choices=Allocation.choices, default=Allocation.FIRST_COME
    )
    applications_open_at = models.DateTimeField(_("applications open"))
    applications_close_at = models.DateTimeField(_("applications close"))
    cancel_cutoff_at = models.DateTimeField(_("cancellation cut-off"), null=True, blank=True)
    lottery_seed = models.BigIntegerField(_("lottery seed"), null=True, blank=True)
    lottery_drawn_at = models.DateTimeField(_("lottery drawn at"), null=True, blank=True)
    attendance_closed_at = models.DateTimeField(_("attendance closed at"), null=True, blank=True)
    attendance_closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendance closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["post", "starts_at"]),
            models.Index(fields=["starts_at"]),
            models.Index(fields=["ends_at", "attendance_closed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="session_starts_before_end"
            ),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="session_capacity_positive"),
            models.CheckConstraint(
                condition=Q(allocation__in=Allocation.values), name="session_allocation_valid"
            ),
            models.CheckConstraint(
                condition=Q(taken__lte=F("capacity")), name="session_taken_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(applications_open_at__lt=F("applications_close_at")),
                name="session_window_order",
            ),
            models.CheckConstraint(
                condition=Q(cancel_cutoff_at__isnull=True)
                | Q(cancel_cutoff_at__lte=F("starts_at")),
                name="session_cutoff_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.post.title} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def seats_left(self) -> int:
        return self.capacity - self.taken


class ClassReservation(models.Model):
    """Seats a head teacher holds on a session for a class (集体组织)."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="reservations"
    )
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.CASCADE, related_name="+"
    )
    seats = models.PositiveIntegerField(_("seats"))
    reserved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reserved by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    release_at = models.DateTimeField(_("unnamed seats return at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("class reservation")
        verbose_name_plural = _("class reservations")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "school_class"], name="reservation_once_per_class"
            ),
            models.CheckConstraint(condition=Q(seats__gt=0), name="reservation_seats_positive"),
        ]

    def __str__(self):
        return f"{self.school_class} - {self.session}"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending lottery")
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waiting list")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No show")


LIVE_APPLICATION = ~Q(status__in=[ApplicationStatus.CANCELLED, ApplicationStatus.REJECTED])


class Application(models.Model):
    """A student's claim on a session (报名)."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="applications"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="applications"
    )
    status = models.CharField(_("status"), max_length=16, choices=ApplicationStatus.choices)
    reservation = models.ForeignKey(
        ClassReservation,
        verbose_name=_("class reservation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    draw_position = models.PositiveIntegerField(_("draw position"), null=True, blank=True)
    draw_weight = models.FloatField(_("draw weight"), null=True, blank=True)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["session", "status", "created_at"]),
            models.Index(fields=["student", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "session"],
                condition=LIVE_APPLICATION,
                name="one_live_application_per_session",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.student} - {self.session}"


class Attendance(models.Model):
    """What the base recorded for one student at one session: the source of credited time."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="attendances"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="attendances"
    )
    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attendance",
    )
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    credited_minutes = models.PositiveIntegerField(_("credited minutes"), null=True, blank=True)
    recorded_via = models.CharField(
        _("recorded via"), max_length=16, choices=RecordedVia.choices, default=RecordedVia.ROSTER
    )
    walk_in_reason = models.CharField(_("reason for adding"), max_length=300, blank=True)
    corrected = models.BooleanField(
        _("corrected by hand"),
        default=False,
        help_text=_("Once corrected with a reason, later scans no longer change the times."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "student"], name="attendance_once_per_session"
            ),
            models.CheckConstraint(
                condition=Q(checked_in_at__isnull=True)
                | Q(checked_out_at__isnull=True)
                | Q(checked_in_at__lt=F("checked_out_at")),
                name="attendance_in_before_out",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_in_at__isnull=False),
                name="attendance_out_needs_in",
            ),
            models.CheckConstraint(
                condition=Q(application__isnull=False) | ~Q(walk_in_reason=""),
                name="attendance_walk_in_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.student} @ {self.session}"


class ScanKind(models.TextChoices):
    CHECK_IN = "in", _("Check-in")
    CHECK_OUT = "out", _("Check-out")


class AttendanceScan(models.Model):
    """One check-in or check-out as it happened; the nonce makes a retried scan count once."""

    nonce = models.CharField(_("nonce"), max_length=64, unique=True)
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="scans"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=3, choices=ScanKind.choices)
    happened_at = models.DateTimeField(_("happened at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=16, choices=RecordedVia.choices)
    payload_digest = models.CharField(_("payload digest"), max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("attendance scan")
        verbose_name_plural = _("attendance scans")
        ordering = ["happened_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(nonce__regex=r"\A[A-Za-z0-9_.:-]{8,64}\Z"), name="scan_nonce_format"
            ),
        ]

    def __str__(self):
        return f"{self.nonce} {self.kind}"


class BaseApiToken(models.Model):
    """A token a base's own system uses to push scans; only its hash is stored."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=64)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_empty"),
        ]

    def __str__(self):
        return f"{self.base} - {self.name} ({self.prefix}…)"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    IMPORTING = "importing", _("Importing")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class AttendanceImport(models.Model):
    """A base's attendance sheet: checked first (dry run), then imported all or nothing."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="attendance_imports"
    )
    file = models.FileField(_("file"), upload_to="attendance-imports/")
    original_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("rows added"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendance import")
        verbose_name_plural = _("attendance imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ImportStatus.IMPORTED) | Q(imported_at__isnull=False),
                name="import_done_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.base} {self.original_name}"
