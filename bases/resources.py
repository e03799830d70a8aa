"""Spreadsheet import and export of bases (社会实践基地), keyed on the base code."""

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from districts.models import District
from districts.resources import DISTRICT_CODE_INVALID, DISTRICT_CODE_REGEX, DISTRICT_NOT_FOUND
from portal.resources import (
    ChoiceWidget,
    DateCellWidget,
    IdentifierWidget,
    NaturalKeyResource,
    ReferenceWidget,
    TextWidget,
)

from .models import Base, BaseLevel, BaseStatus

BASE_CODE_REGEX = r"^[A-Za-z0-9-]{1,32}$"
BASE_CODE_INVALID = _("%(value)s is not a base code: use up to 32 letters, digits or hyphens.")


class BaseResource(NaturalKeyResource):
    """Bases by `code`.

    Columns: `code` (letters, digits, hyphens; a text cell), `name`, `name_en` (optional),
    `level` (city, district, school or project), `district_code` (six digits, a text cell),
    `status` (pending, certified, suspended or revoked), `certified_until` (a date, required
    when certified), `address` and `description` (optional).
    """

    code = Field(
        attribute="code",
        column_name="code",
        widget=IdentifierWidget(pattern=BASE_CODE_REGEX, invalid=BASE_CODE_INVALID),
    )
    name = Field(attribute="name", column_name="name", widget=TextWidget())
    name_en = Field(attribute="name_en", column_name="name_en", widget=TextWidget(required=False))
    level = Field(attribute="level", column_name="level", widget=ChoiceWidget(BaseLevel))
    district_code = Field(
        attribute="district",
        column_name="district_code",
        widget=ReferenceWidget(
            District,
            "code",
            pattern=DISTRICT_CODE_REGEX,
            invalid=DISTRICT_CODE_INVALID,
            not_found=DISTRICT_NOT_FOUND,
        ),
    )
    status = Field(attribute="status", column_name="status", widget=ChoiceWidget(BaseStatus))
    certified_until = Field(
        attribute="certified_until", column_name="certified_until", widget=DateCellWidget()
    )
    address = Field(attribute="address", column_name="address", widget=TextWidget(required=False))
    description = Field(
        attribute="description", column_name="description", widget=TextWidget(required=False)
    )

    required_columns = ("code", "name", "level", "district_code", "status")

    class Meta:
        model = Base
        fields = (
            "code",
            "name",
            "name_en",
            "level",
            "district_code",
            "status",
            "certified_until",
            "address",
            "description",
        )
        import_id_fields = ("code",)

    def get_queryset(self):
        return super().get_queryset().select_related("district")

    def check_row(self, instance, row, errors):
        if "status" in errors or "certified_until" in errors:
            return
        if instance.status == BaseStatus.CERTIFIED and instance.certified_until is None:
            errors["certified_until"] = [
                _("A certified base needs the date its certification runs until.")
            ]
