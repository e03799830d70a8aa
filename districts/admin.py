"""Admin for districts and district admins.

The classes end in `ModelAdmin` because `DistrictAdmin` is already a model name here.
"""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin, SheetImportExportAdmin

from .models import AccountImport, District, DistrictAdmin
from .resources import DistrictResource


@admin.register(District)
class DistrictModelAdmin(SheetImportExportAdmin):
    resource_classes = [DistrictResource]
    list_display = ("code", "name_zh", "name_en", "sort_order")
    search_fields = ("code", "name_zh", "name_en")
    ordering = ("sort_order", "code")


@admin.register(DistrictAdmin)
class DistrictAdminModelAdmin(admin.ModelAdmin):
    list_display = ("user", "district")
    list_filter = ("district",)
    list_select_related = ("user", "district")
    search_fields = ("user__username", "user__full_name", "district__name_zh", "district__code")
    autocomplete_fields = ("user", "district")


@admin.register(AccountImport)
class AccountImportAdmin(ReadOnlyAdmin):
    list_display = ("kind", "district", "original_name", "status", "row_count", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("district",)
    search_fields = ("original_name", "district__name_zh", "district__code")
