"""Admin for bases, their contracts, coordinators, posts, sessions and attendance."""

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdmin, SheetImportExportAdmin
from portal.uploads import read_image_upload

from .models import (
    Application,
    Attendance,
    AttendanceImport,
    AttendanceScan,
    Base,
    BaseApiToken,
    BriefingAcknowledgement,
    ClassReservation,
    Coordinator,
    GuardianConsent,
    Post,
    ReliabilityHoldLift,
    SchoolContract,
    Session,
)
from .resources import BaseResource


class PictureAdminForm(forms.ModelForm):
    """A picture uploaded in the admin goes through the portal's guarded reader, re-encoded."""

    image = forms.FileField(
        label=_("picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )

    def clean_image(self):
        value = self.cleaned_data.get("image")
        if isinstance(value, UploadedFile):
            return read_image_upload(value).as_file()
        return value


class SchoolContractInline(admin.TabularInline):
    model = SchoolContract
    extra = 0
    fields = ("school", "valid_until", "contracted_by", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("school", "contracted_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("school", "contracted_by")


class CoordinatorInline(admin.TabularInline):
    model = Coordinator
    extra = 0
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Base)
class BaseAdmin(SheetImportExportAdmin):
    form = PictureAdminForm
    resource_classes = [BaseResource]
    list_display = ("code", "name", "level", "district", "status", "certified_until")
    list_filter = ("level", "status", "district")
    list_select_related = ("district",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("district", "certified_by")
    readonly_fields = ("certified_at",)
    inlines = [SchoolContractInline, CoordinatorInline]


@admin.register(SchoolContract)
class SchoolContractAdmin(admin.ModelAdmin):
    list_display = ("school", "base", "valid_until", "contracted_by", "created_at")
    list_filter = ("base__district",)
    list_select_related = ("school", "base", "contracted_by")
    search_fields = ("school__code", "school__name", "base__code", "base__name")
    autocomplete_fields = ("base", "school", "contracted_by")


@admin.register(Coordinator)
class CoordinatorAdmin(admin.ModelAdmin):
    list_display = ("user", "base")
    list_select_related = ("user", "base")
    search_fields = ("user__username", "user__full_name", "base__code", "base__name")
    autocomplete_fields = ("user", "base")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = PictureAdminForm
    list_display = ("title", "base", "category", "status", "eligible_grades", "updated_at")
    list_filter = ("status", "category", "base__level", "base__district")
    list_select_related = ("base", "category")
    search_fields = ("title", "base__code", "base__name")
    autocomplete_fields = ("base", "reviewed_by", "created_by", "hours_exception_by")
    readonly_fields = ("created_at", "updated_at")


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ReadOnlyAdmin):
    """Consents are recorded and withdrawn through `bases.services.consent` (audited)."""

    list_display = ("student", "post", "given_via", "recorded_by", "given_at", "withdrawn_at")
    list_filter = ("given_via",)
    list_select_related = ("student", "post__base", "recorded_by")
    search_fields = ("student__student_number", "student__name", "post__title")


@admin.register(BriefingAcknowledgement)
class BriefingAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ("student", "post", "digest", "acknowledged_at")
    list_select_related = ("student", "post__base")
    search_fields = ("student__student_number", "student__name", "post__title", "digest")


class SessionTimingFilter(admin.SimpleListFilter):
    title = _("timing")
    parameter_name = "timing"

    def lookups(self, request, model_admin):
        return [
            ("upcoming", _("Not started")),
            ("running", _("Running now")),
            ("ended", _("Already ended")),
            ("unclosed", _("Ended, attendance not closed")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "running":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        if self.value() == "unclosed":
            return queryset.filter(ends_at__lte=now, attendance_closed_at__isnull=True)
        return queryset


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    """Read-only: only the services change these (seats, notices and audit stay right)."""

    list_display = (
        "post",
        "starts_at",
        "ends_at",
        "capacity",
        "taken",
        "allocation",
        "attendance_closed_at",
    )
    list_filter = (
        SessionTimingFilter,
        "allocation",
        "starts_at",
        "post__category",
        "post__base__level",
        "post__base__district",
    )
    list_select_related = ("post__base",)
    search_fields = ("post__title", "post__base__code", "post__base__name")
    autocomplete_fields = ("post", "attendance_closed_by")
    date_hierarchy = "starts_at"


@admin.register(ClassReservation)
class ClassReservationAdmin(ReadOnlyAdmin):
    """Read-only: only the services change these (seats, notices and audit stay right)."""

    list_display = ("session", "school_class", "seats", "release_at", "released_at")
    list_select_related = ("session__post__base", "school_class__school")
    search_fields = ("session__post__title", "school_class__school__code")
    autocomplete_fields = ("session", "school_class", "reserved_by")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    """Read-only: only the services change these (seats, notices and audit stay right)."""

    list_display = ("student", "session", "status", "draw_position", "created_at")
    list_filter = ("status", "session__allocation")
    list_select_related = ("student", "session__post__base")
    search_fields = ("student__student_number", "student__name", "session__post__title")
    autocomplete_fields = ("student", "session", "reservation")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    """Read-only: only the services change these (seats, notices and audit stay right)."""

    list_display = (
        "student",
        "session",
        "checked_in_at",
        "checked_out_at",
        "credited_minutes",
        "recorded_via",
    )
    list_filter = ("recorded_via",)
    list_select_related = ("student", "session__post__base")
    search_fields = ("student__student_number", "student__name", "session__post__title")
    autocomplete_fields = ("session", "student", "application", "recorded_by")
    show_full_result_count = False


@admin.register(AttendanceScan)
class AttendanceScanAdmin(ReadOnlyAdmin):
    list_display = ("nonce", "kind", "student", "session", "happened_at", "received_at", "source")
    list_filter = ("kind", "source")
    list_select_related = ("student", "session__post__base")
    search_fields = ("nonce", "student__student_number")
    show_full_result_count = False


@admin.register(BaseApiToken)
class BaseApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("base", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("base",)
    search_fields = ("base__name", "name", "prefix")
    exclude = ("key_hash",)


@admin.register(AttendanceImport)
class AttendanceImportAdmin(ReadOnlyAdmin):
    list_display = ("base", "original_name", "status", "row_count", "created_count", "created_at")
    list_filter = ("status",)
    list_select_related = ("base",)
    search_fields = ("base__name", "original_name")


@admin.register(ReliabilityHoldLift)
class ReliabilityHoldLiftAdmin(ReadOnlyAdmin):
    """View-only: a head teacher lifts a hold on their class's page (audited, the student told)."""

    list_display = ("student", "lifted_by", "lifted_at", "reason")
    list_select_related = ("student", "lifted_by")
    search_fields = ("student__student_number", "student__name")
