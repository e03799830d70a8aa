"""Schools, their classes, the teachers assigned to them and the students."""

import secrets
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from districts.models import District
from portal.changes import ChangeSignallingQuerySet

from ..identifiers import STUDENT_NUMBER_REGEX

SCHOOL_CODE_REGEX = r"\A[A-Za-z0-9]{4,16}\Z"


NATIONAL_ID_REGEX = r"\A[0-9]{17}[0-9X]\Z"


def new_personal_code() -> str:
    """An unguessable code the student shows as a QR for check-in."""
    return "P" + secrets.token_hex(8).upper()


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

    objects = ChangeSignallingQuerySet.as_manager()

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


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class StudentQuerySet(ChangeSignallingQuerySet):
    def counted(self) -> "StudentQuerySet":
        """Students still at the school: those marked as left count in no completion figure."""
        return self.filter(left_on__isnull=True)

    def transferred_out_of(self, school: "School") -> "StudentQuerySet":
        """Students who moved from `school` to another one (a confirmed transfer) and are not
        back: listed apart by the old school, counted in no figure of it (their class is now
        the new school's, so `counted` there counts them)."""
        return (
            self.filter(transfers__from_school=school, transfers__status="confirmed")
            .exclude(school_class__school=school)
            .distinct()
        )


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
    # Database defaults too: bulk loaders that write rows directly need not know these columns.
    gender = models.CharField(
        _("gender"), max_length=8, choices=Gender.choices, blank=True, default="", db_default=""
    )
    guardian_contact = models.CharField(
        _("guardian contact"), max_length=64, blank=True, default="", db_default=""
    )
    #: The day the school's roster stopped naming the student: never deleted, records stay.
    left_on = models.DateField(_("left on"), null=True, blank=True)
    personal_code = models.CharField(
        _("personal code"),
        max_length=32,
        unique=True,
        default=new_personal_code,
        editable=False,
        help_text=_("Shown as a QR code."),
    )

    objects = StudentQuerySet.as_manager()

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
            models.CheckConstraint(
                condition=Q(gender__in=["", *Gender.values]), name="student_gender_valid"
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
