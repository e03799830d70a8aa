"""Admin for schools, classes, teachers, students and the practice-record ledger.

The ledger (records, versions, disputes) is view-only here: a change to a record must go
through `students.services` so that it makes a new version and an audit entry.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdmin, ReadOnlyInline, SheetImportExportAdmin

from .models import (
    Category,
    Certificate,
    Dispute,
    GuardianCode,
    Guardianship,
    PlatformImport,
    PlatformRecord,
    PracticeRecord,
    PracticeRecordVersion,
    RecordOrigin,
    RecordPackageImport,
    Reflection,
    ReflectionComment,
    ReflectionPhoto,
    ReliabilityPolicy,
    RequirementPolicy,
    RosterImport,
    SafetyPolicy,
    School,
    SchoolClass,
    SchoolYearClose,
    Student,
    StudentTotal,
    TeacherAssignment,
    Transfer,
    TrustedInstallation,
)
from .resources import SchoolClassResource, SchoolResource, StudentResource
from .transfers.signing import fingerprint, public_key_from_pem


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "counts_as_volunteer_service", "sort_order")
    list_filter = ("counts_as_volunteer_service",)
    search_fields = ("code", "name_zh", "name_en")


@admin.register(School)
class SchoolAdmin(SheetImportExportAdmin):
    resource_classes = [SchoolResource]
    list_display = ("code", "name", "name_en", "district")
    list_filter = ("district",)
    list_select_related = ("district",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("district",)


@admin.register(SchoolClass)
class SchoolClassAdmin(SheetImportExportAdmin):
    resource_classes = [SchoolClassResource]
    list_display = ("__str__", "school", "entry_year", "number")
    list_filter = ("entry_year", "school__district")
    list_select_related = ("school",)
    search_fields = ("school__code", "school__name")
    autocomplete_fields = ("school",)


@admin.register(TeacherAssignment)
class TeacherAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "school", "school_class")
    list_filter = ("role",)
    list_select_related = ("user", "school", "school_class__school")
    search_fields = ("user__username", "user__full_name", "school__code", "school__name")
    autocomplete_fields = ("user", "school", "school_class")


@admin.register(Student)
class StudentAdmin(SheetImportExportAdmin):
    resource_classes = [StudentResource]
    list_display = ("student_number", "name", "school_class", "user", "left_on")
    list_filter = (
        "school_class__entry_year",
        "school_class__school__district",
        ("left_on", admin.EmptyFieldListFilter),
    )
    list_select_related = ("school_class__school", "user")
    search_fields = ("student_number", "name", "school_class__school__code")
    autocomplete_fields = ("user", "school_class")
    readonly_fields = ("personal_code",)


@admin.register(ReliabilityPolicy)
class ReliabilityPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "effective_from",
        "late_cancel_hours",
        "no_show_points",
        "late_cancel_points",
        "half_life_days",
        "hold_no_shows",
        "hold_window_days",
        "hold_days",
        "held_lottery_factor",
        "session_cancel_late_hours",
    )


@admin.register(RequirementPolicy)
class RequirementPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "effective_from_entry_year",
        "volunteer_hours_required",
        "practice_days_required",
        "minutes_per_credit_hour",
        "notice_days",
        "attendance_deadline_hours",
        "scan_repeat_seconds",
        "minimum_checkout_minutes",
    )


@admin.register(SafetyPolicy)
class SafetyPolicyAdmin(admin.ModelAdmin):
    """Guards for minors, edited by the city admin; a new row from a date replaces the last."""

    list_display = (
        "effective_from",
        "session_earliest_start",
        "session_latest_end",
        "daily_credit_minutes",
        "session_credit_minutes",
        "consent_off_site",
        "consent_overnight",
        "consent_physical_risk",
    )


class PracticeRecordVersionInline(ReadOnlyInline):
    model = PracticeRecordVersion
    fields = (
        "version",
        "status",
        "category",
        "title",
        "started_at",
        "ended_at",
        "credited_minutes",
        "held_minutes",
        "changed_by",
        "changed_at",
        "reason",
    )
    readonly_fields = fields
    ordering = ("version",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "changed_by")


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = ("status", "raised_by", "raised_at", "reason", "answered_by", "answered_at", "answer")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("raised_by", "answered_by")


@admin.register(PracticeRecord)
class PracticeRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "student",
        "title",
        "category",
        "started_at",
        "credited_minutes",
        "status",
        "version",
        "recorded_via",
    )
    list_filter = ("status", "category", "organiser_level", "recorded_via")
    list_select_related = ("student", "category")
    search_fields = ("student__student_number", "student__name", "title", "source_ref")
    date_hierarchy = "started_at"
    inlines = [PracticeRecordVersionInline, DisputeInline]
    show_full_result_count = False


@admin.register(PracticeRecordVersion)
class PracticeRecordVersionAdmin(ReadOnlyAdmin):
    list_display = ("record", "version", "status", "credited_minutes", "changed_by", "changed_at")
    list_filter = ("status",)
    list_select_related = ("record__student", "changed_by")
    search_fields = ("record__student__student_number", "record__source_ref", "reason")


@admin.register(StudentTotal)
class StudentTotalAdmin(ReadOnlyAdmin):
    """Kept by every write of a record; `manage.py totals_reconcile` checks and fixes them."""

    list_display = ("student", "volunteer_minutes", "practice_days", "records")
    list_select_related = ("student",)
    search_fields = ("student__student_number", "student__name")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ("record", "status", "raised_by", "raised_at", "answered_at")
    list_filter = ("status",)
    list_select_related = ("record__student", "raised_by")
    search_fields = ("record__student__student_number", "record__student__name", "reason")


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("student", "issued_at", "issued_by")
    list_select_related = ("student", "issued_by")
    search_fields = ("student__student_number", "student__name", "code")


@admin.register(RosterImport)
class RosterImportAdmin(ReadOnlyAdmin):
    list_display = ("school", "original_name", "status", "row_count", "created_at", "imported_at")
    list_filter = ("status",)
    list_select_related = ("school",)
    search_fields = ("school__name", "school__code", "original_name")


@admin.register(PlatformImport)
class PlatformImportAdmin(ReadOnlyAdmin):
    """View-only: a school admin or a student uploads another platform's records, then confirms."""

    list_display = ("school", "platform", "original_name", "status", "row_count", "created_at")
    list_filter = ("platform", "status")
    list_select_related = ("school",)
    search_fields = ("school__name", "original_name", "sha256")


@admin.register(PlatformRecord)
class PlatformRecordAdmin(ReadOnlyAdmin):
    """View-only: each row taken from another platform, with its provenance and the decision."""

    list_display = ("platform", "original_id", "student", "started_at", "minutes", "status")
    list_filter = ("platform", "status")
    list_select_related = ("student",)
    search_fields = ("original_id", "student__student_number", "student__name")


@admin.register(SchoolYearClose)
class SchoolYearCloseAdmin(ReadOnlyAdmin):
    """Closed only through the page or `close_school_year`, which do the graduates' part."""

    list_display = (
        "__str__",
        "closed_on",
        "graduates",
        "records_finalised",
        "logins_disable_on",
        "logins_disabled_at",
        "closed_by",
    )


@admin.register(Reflection)
class ReflectionAdmin(ReadOnlyAdmin):
    """View-only: a reflection changes through `students.reflections` (audited, in notice)."""

    list_display = ("record", "status", "is_typical", "notice_ends_on", "updated_at")
    list_filter = ("status", "is_typical")
    list_select_related = ("record__student",)
    search_fields = ("record__student__student_number", "record__student__name", "text")


@admin.register(ReflectionPhoto)
class ReflectionPhotoAdmin(ReadOnlyAdmin):
    list_display = ("reflection", "position", "width", "height", "created_at")
    list_select_related = ("reflection__record__student",)
    search_fields = ("reflection__record__student__student_number",)


@admin.register(ReflectionComment)
class ReflectionCommentAdmin(ReadOnlyAdmin):
    list_display = ("reflection", "author", "created_at")
    list_select_related = ("reflection__record__student", "author")
    search_fields = ("reflection__record__student__student_number", "text")


class TrustedInstallationForm(forms.ModelForm):
    class Meta:
        model = TrustedInstallation
        fields = ("name", "public_key", "active")

    def clean_public_key(self):
        text = self.cleaned_data["public_key"]
        try:
            found = fingerprint(public_key_from_pem(text))
        except ValueError:
            raise forms.ValidationError(
                _("Paste the other installation's Ed25519 public key in PEM form.")
            ) from None
        if TrustedInstallation.objects.filter(fingerprint=found).exclude(pk=self.instance.pk):
            raise forms.ValidationError(_("This key is already trusted."))
        self.instance.fingerprint = found
        return text.strip()


@admin.register(TrustedInstallation)
class TrustedInstallationAdmin(admin.ModelAdmin):
    """The city admin keeps the installations whose record packages this one accepts."""

    form = TrustedInstallationForm
    list_display = ("name", "fingerprint", "active", "added_at")
    readonly_fields = ("fingerprint", "added_at")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("student", "from_school", "to_school", "status", "requested_at")
    list_filter = ("status",)


@admin.register(RecordPackageImport)
class RecordPackageImportAdmin(ReadOnlyAdmin):
    list_display = ("student", "installation", "records_created", "imported_at")


@admin.register(RecordOrigin)
class RecordOriginAdmin(ReadOnlyAdmin):
    list_display = ("record", "installation", "origin_record_id", "exported_version")


@admin.register(Guardianship)
class GuardianshipAdmin(ReadOnlyAdmin):
    """View-only: a guardian links a child with the school's one-time code (students.guardians)."""

    list_display = ("guardian", "student", "linked_at", "ended_at")
    search_fields = ("guardian__username", "student__student_number", "student__name")


@admin.register(GuardianCode)
class GuardianCodeAdmin(ReadOnlyAdmin):
    """Codes are shown as hashes only; they are issued by printing guardian slips."""

    list_display = ("student", "created_at", "expires_at", "used_at", "revoked_at")
