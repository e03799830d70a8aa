"""Spreadsheet import and export of districts, keyed on the administrative code."""

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from portal.resources import IdentifierWidget, NaturalKeyResource, TextWidget, WholeNumberWidget

from .models import District

DISTRICT_CODE_REGEX = r"^[0-9]{6}$"
DISTRICT_CODE_INVALID = _("%(value)s is not a district code: use its six digits, e.g. 310104.")
DISTRICT_NOT_FOUND = _("No district has the code %(value)s.")


def district_code_widget() -> IdentifierWidget:
    return IdentifierWidget(pattern=DISTRICT_CODE_REGEX, invalid=DISTRICT_CODE_INVALID)


class DistrictResource(NaturalKeyResource):
    """Districts by `code`.

    Columns: `code` (six digits, a text cell), `name_zh`, `name_en`, `sort_order` (optional).
    """

    code = Field(attribute="code", column_name="code", widget=district_code_widget())
    name_zh = Field(attribute="name_zh", column_name="name_zh", widget=TextWidget())
    name_en = Field(attribute="name_en", column_name="name_en", widget=TextWidget())
    sort_order = Field(
        attribute="sort_order",
        column_name="sort_order",
        widget=WholeNumberWidget(required=False),
        saves_null_values=False,
    )

    required_columns = ("code", "name_zh", "name_en")

    class Meta:
        model = District
        fields = ("code", "name_zh", "name_en", "sort_order")
        import_id_fields = ("code",)
