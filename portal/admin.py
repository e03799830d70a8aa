"""Admin for users, the audit log, notifications, the outbox, and base classes for other admins."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from .accounts import user_sign_in_unlock
from .exporting import EXPORT_FORMATS
from .models import ActivationCode, AuditLog, Notification, OutboxMessage, User
from .sheet_imports import GuardedImportMixin


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only admin for rows that only services may write (ledger, logs, exports)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SheetImportExportAdmin(GuardedImportMixin, ImportExportModelAdmin):
    """Spreadsheet import (xlsx, csv) that writes the whole sheet or nothing.

    Uploads are read by the guarded reader (`GuardedImportMixin.import_formats`): size, type by
    content, zip and XML bombs and a row cap are checked before any row reaches a resource.

    The preview lists every bad row with its column and reason and offers no confirm button;
    the confirm step imports again inside one transaction and rolls back on any row error,
    so a sheet that became invalid between preview and confirm still writes nothing.
    """

    formats = [XLSX, CSV]
    #: Exports are written by portal.spreadsheets: formula-like text escaped, identifiers text.
    export_formats = EXPORT_FORMATS

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """The export file; an xlsx export keeps numbers and dates as numbers and dates."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        # import-export keeps native types only for its own binary format classes, by exact type.
        data = self.get_data_for_export(
            request, queryset, force_native_type=isinstance(file_format, XLSX), **kwargs
        )
        content = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            content = content.encode(encoding)
        return content

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if not result.has_errors() and not result.has_validation_errors():
            return super().process_result(result, request)
        messages.error(request, _("Nothing was imported: correct the rows below and upload again."))
        form_class = self.get_import_form_class(request)
        context = {
            **self.admin_site.each_context(request),
            **self.get_import_context_data(),
            "title": _("Import"),
            "form": form_class(
                self.get_import_formats(), self.get_import_resource_classes(request)
            ),
            "opts": self.model._meta,
            "result": result,
            "import_error_display": self.import_error_display,
            "fields_list": [
                (
                    resource_class.get_display_name(),
                    [f.column_name for f in resource_class().get_user_visible_fields()],
                )
                for resource_class in self.get_import_resource_classes(request)
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Portal"), {"fields": ("full_name", "role", "must_change_password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "full_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = ("username", "full_name", "role", "email", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "full_name", "email")
    ordering = ("username",)
    actions = ["unlock_sign_in"]

    def save_model(self, request, obj, form, change):
        # A password an admin chose is known to them: the user picks their own at first sign-in.
        if not change and obj.has_usable_password():
            obj.must_change_password = True
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Lift the sign-in lock-out of the selected users"))
    def unlock_sign_in(self, request, queryset):
        for user in queryset:
            user_sign_in_unlock(user=user, unlocked_by=request.user)
        self.message_user(
            request,
            _("Signing in works again for %(count)d user(s).") % {"count": len(queryset)},
            messages.SUCCESS,
        )


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "object_repr")
    list_filter = ("object_type", "action")
    list_select_related = ("actor",)
    search_fields = ("object_id", "object_repr", "action", "actor__username", "actor__full_name")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "message", "read_at", "emailed_at")
    list_filter = (("read_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("message", "user__username", "user__full_name")
    autocomplete_fields = ("user",)
    date_hierarchy = "created_at"


@admin.register(ActivationCode)
class ActivationCodeAdmin(ReadOnlyAdmin):
    """Codes are issued by the roster pages and resets; only a hash is kept, never the code."""

    list_display = ("user", "created_at", "expires_at", "used_at", "revoked_at", "issued_by")
    list_filter = (
        ("used_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("user", "issued_by")
    search_fields = ("user__username", "user__full_name")
    exclude = ("code_hash",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What was queued, and what still waits for the broker (pending rows have no "sent")."""

    list_display = ("created_at", "task_name", "kwargs", "attempts", "last_error", "sent_at")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "task_name")
    search_fields = ("task_name", "last_error")
    date_hierarchy = "created_at"
    show_full_result_count = False
