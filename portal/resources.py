"""Shared rules for spreadsheet imports: identifiers stay text, every bad cell is named, and a
sheet imports whole or not at all.

Each app's `resources.py` builds on `NaturalKeyResource` and the widgets here. Errors are keyed
by the sheet's column name, so the admin's import page shows row, column and reason.
"""

import re
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from .messages import MessageKind, message_kind

# A cell a spreadsheet has turned into a number, read back as text: 310101200901011234.0,
# 3.10101200901e+17, 1.2E5. Plain digit strings are identifiers and pass.
NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")

# A cell's problems are raised as stored messages (`portal.messages`): a sheet's checked problems
# are kept and shown later, in the reader's language.
TURNED_INTO_NUMBER = message_kind(
    "cell.turned_into_number",
    _(
        "The spreadsheet turned this identifier into a number (%(value)s), which may have lost "
        "leading zeros or digits. Format the column as text and type the identifier again."
    ),
)
EMPTY_CELL = message_kind("cell.empty", _("This cell is empty; a value is required."))
NOT_WHOLE_NUMBER = message_kind("cell.not_whole_number", _("%(value)s is not a whole number."))


def is_number_cell(value) -> bool:
    """True when a cell holds a number, or text that a number was rendered to."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return isinstance(value, str) and bool(NUMBER_TEXT.match(value.strip()))


def clean_identifier(value, *, pattern: str, invalid: "str | MessageKind") -> str:
    """The identifier in a cell as text; ValueError if it is empty, a number or malformed.

    `invalid` is a translatable message (or a kind of stored message) with a `%(value)s`
    placeholder.
    """
    if is_number_cell(value):
        raise ValueError(TURNED_INTO_NUMBER(value=str(value)))
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError(EMPTY_CELL())
    if not re.fullmatch(pattern, text):
        if isinstance(invalid, MessageKind):
            raise ValueError(invalid(value=text))
        raise ValueError(invalid % {"value": text})
    return text


class IdentifierWidget(widgets.CharWidget):
    """A natural-key column: text only, never a number, matching `pattern`."""

    def __init__(self, *, pattern: str, invalid: str):
        self.pattern = pattern
        self.invalid = invalid
        super().__init__()

    def clean(self, value, row=None, **kwargs):
        return clean_identifier(value, pattern=self.pattern, invalid=self.invalid)


class ReferenceWidget(widgets.ForeignKeyWidget):
    """A related object named by its code, checked like an identifier; lookups are cached."""

    def __init__(self, model, field: str, *, pattern: str, invalid: str, not_found: str):
        self.pattern = pattern
        self.invalid = invalid
        self.not_found = not_found
        self._cache: dict[str, models.Model] = {}
        super().__init__(model, field)

    def clean(self, value, row=None, **kwargs):
        code = clean_identifier(value, pattern=self.pattern, invalid=self.invalid)
        if code not in self._cache:
            try:
                self._cache[code] = self.get_queryset(value, row).get(**{self.field: code})
            except self.model.DoesNotExist:
                raise ValueError(self.not_found % {"value": code}) from None
        return self._cache[code]


class TextWidget(widgets.CharWidget):
    """Text with surrounding spaces removed, so a re-import with stray spaces changes nothing."""

    def __init__(self, *, required: bool = True):
        self.required = required
        super().__init__()

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if self.required and not text:
            raise ValueError(EMPTY_CELL())
        return text


class WholeNumberWidget(widgets.IntegerWidget):
    """An integer cell; 2025, 2025.0 and "2025" all read as 2025."""

    def __init__(self, *, required: bool = True):
        self.required = required
        super().__init__()

    def clean(self, value, row=None, **kwargs):
        return clean_whole_number(value, required=self.required)


def clean_whole_number(value, *, required: bool = True) -> int | None:
    """A whole number from a cell; ValueError with a readable reason otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(EMPTY_CELL())
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValueError(NOT_WHOLE_NUMBER(value=str(value)))
    return int(number)


class DateCellWidget(widgets.DateWidget):
    """A date cell (a spreadsheet date or text like 2026-08-31); empty means no date."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        try:
            return super().clean(value, row, **kwargs)
        except ValueError:
            raise ValueError(
                _("%(value)s is not a date: use the form 2026-08-31.") % {"value": value}
            ) from None


class ChoiceWidget(widgets.CharWidget):
    """A choice column that takes the stored code (or the label in the active language)."""

    def __init__(self, choices: type[models.TextChoices], *, required: bool = True):
        self.choices = choices
        self.required = required
        super().__init__()

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if not text:
            if self.required:
                raise ValueError(EMPTY_CELL())
            return ""
        for code, label in self.choices.choices:
            if text in (code, str(label)):
                return code
        raise ValueError(
            _("%(value)s is not one of: %(choices)s.")
            % {"value": text, "choices": ", ".join(self.choices.values)}
        )


class NaturalKeyInstanceLoader(ModelInstanceLoader):
    """Loads the existing objects a sheet names with one query per thousand keys.

    Keys that cannot be read load nothing; the row's own validation reports why.
    """

    CHUNK = 1000

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        id_fields = resource.get_import_id_fields()
        self.key_field = resource.fields[id_fields[0]] if len(id_fields) == 1 else None
        self.known: dict | None = None
        if self.key_field is None or dataset is None:
            return
        keys = set()
        for row in dataset.dict:
            try:
                keys.add(self.key_field.clean(row))
            except (ValueError, KeyError):
                continue
        self.known = {}
        keys = list(keys)
        lookup = f"{self.key_field.attribute}__in"
        for start in range(0, len(keys), self.CHUNK):
            for obj in self.get_queryset().filter(**{lookup: keys[start : start + self.CHUNK]}):
                self.known[self.key_field.get_value(obj)] = obj

    def get_instance(self, row):
        if self.known is None:
            return super().get_instance(row)
        return self.known.get(self.key_field.clean(row))


class NaturalKeyResource(resources.ModelResource):
    """A resource keyed on a natural key whose row errors name the column and the reason.

    - every cell a widget cannot read, and every model validation error, is reported per column;
    - a key that appears twice in one sheet is an error on the later rows;
    - the columns in `required_columns` must all be in the sheet;
    - rows equal to what is stored are skipped, so importing a sheet twice changes nothing.
    The admin import (see `portal.admin.SheetImportExportAdmin`) rolls back on any error.
    """

    #: Columns the sheet must have; a missing one fails the whole import.
    required_columns: tuple[str, ...] = ()
    #: Model fields the model fills in itself (e.g. a generated code) and full_clean must skip.
    generated_fields: tuple[str, ...] = ()

    class Meta:
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True
        instance_loader_class = NaturalKeyInstanceLoader

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.duplicate_of: dict[int, int] = {}

    # -- hooks for subclasses -------------------------------------------------------------
    def import_related(self, instance, row, errors: dict[str, list[str]]) -> None:
        """Set what several columns decide together; add messages to `errors` by column."""

    def check_row(self, instance, row, errors: dict[str, list[str]]) -> None:
        """Rules across fields of one row; skip columns already in `errors`."""

    # -- import machinery ----------------------------------------------------------------
    def import_data(self, dataset, *args, rollback_on_validation_errors=True, **kwargs):
        """Import a sheet; by default any invalid row rolls back the whole sheet."""
        return super().import_data(
            dataset, *args, rollback_on_validation_errors=rollback_on_validation_errors, **kwargs
        )

    def before_import(self, dataset, **kwargs):
        dataset.headers = [str(h or "").strip().lstrip("\ufeff") for h in dataset.headers]
        # Spreadsheets often keep formatted but empty rows at the end; they are not data.
        while len(dataset) and all(v is None or str(v).strip() == "" for v in dataset[-1]):
            del dataset[-1]
        missing = [c for c in self.required_columns if c not in dataset.headers]
        if missing:
            raise ValueError(
                _("The sheet lacks these columns: %(columns)s.") % {"columns": ", ".join(missing)}
            )
        self.duplicate_of = self._find_duplicates(dataset)
        super().before_import(dataset, **kwargs)

    def _find_duplicates(self, dataset) -> dict[int, int]:
        """Row number -> the earlier row number with the same natural key."""
        first_row: dict[tuple, int] = {}
        duplicate_of = {}
        id_fields = [self.fields[name] for name in self.get_import_id_fields()]
        for number, values in enumerate(dataset, 1):
            row = dict(zip(dataset.headers, values, strict=False))
            try:
                key = tuple(field.clean(row) for field in id_fields)
            except (ValueError, KeyError):
                continue
            key = tuple(k.pk if isinstance(k, models.Model) else k for k in key)
            if key in first_row:
                duplicate_of[number] = first_row[key]
            else:
                first_row[key] = number
        return duplicate_of

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, KeyError, ObjectDoesNotExist):
            return None

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget):
                continue
            try:
                self.import_field(field, instance, row, **kwargs)
            except ValueError as e:
                errors.setdefault(field.column_name, []).append(str(e))
        self.import_related(instance, row, errors)
        earlier = self.duplicate_of.get(kwargs.get("row_number"))
        if earlier:
            column = self.fields[self.get_import_id_fields()[-1]].column_name
            errors.setdefault(column, []).append(
                _("The same %(column)s is already on row %(row)s of this sheet.")
                % {"column": self._key_columns(), "row": earlier}
            )
        self.check_row(instance, row, errors)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors: dict[str, list] = dict(import_validation_errors or {})
        exclude = set(self.generated_fields)
        for column in errors:
            exclude.add(column)
            field = self._field_for_column(column)
            if field is not None and field.attribute:
                exclude.add(field.attribute.split("__")[0])
        try:
            instance.full_clean(exclude=exclude, validate_unique=validate_unique)
        except ValidationError as e:
            for name, messages in e.message_dict.items():
                errors.setdefault(self._column_for_attribute(name), []).extend(messages)
        if errors:
            raise ValidationError(errors)

    # -- helpers -------------------------------------------------------------------------
    def _key_columns(self) -> str:
        return " + ".join(self.fields[name].column_name for name in self.get_import_id_fields())

    def _field_for_column(self, column: str):
        for field in self.fields.values():
            if field.column_name == column:
                return field
        return None

    def _column_for_attribute(self, name: str) -> str:
        if name == NON_FIELD_ERRORS:
            return name
        for field in self.fields.values():
            if field.attribute and field.attribute.split("__")[0] == name:
                return field.column_name
        return name
