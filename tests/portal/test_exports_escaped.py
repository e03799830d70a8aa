"""Every admin export, xlsx and csv, shows formula-like text with a leading ' and runs no formula.

The exportable models are found in the admin registry, so a model whose admin gains an export
later is covered without touching this file; every text field of every such model is filled
with formula-like text first (a field the database refuses it for, e.g. a code with a format
constraint, is left as it is).
"""

import csv
import io
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.db import IntegrityError, models, transaction
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from openpyxl import load_workbook

from portal.spreadsheets import FORMULA_PREFIXES
from tests.factories import UserFactory, district
from tests.portal.test_admin import BUILDERS, admin_url

pytestmark = pytest.mark.django_db

PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "-2+3",
    "+cmd|' /C calc'!A0",
    "\tTAB",
    "\rCR",
]
ROWS_PER_MODEL = len(PAYLOADS)
# Reading an xlsx back, XML turns a stored carriage return into a line feed.
READ_BACK_PREFIXES = (*FORMULA_PREFIXES, "\n")
# The page tests' builders, and the districts the migrations seed.
ROW_BUILDERS = {**BUILDERS, "districts.district": district}


def exportable_models() -> list[type[models.Model]]:
    return sorted(
        (
            model
            for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, ExportMixin) and model_admin.get_export_formats()
        ),
        key=lambda model: model._meta.label_lower,
    )


def text_fields(model) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField) and not f.primary_key
    ]


def payload_for(field: models.Field, row: int) -> str:
    text = PAYLOADS[row % len(PAYLOADS)]
    suffix = f" {row}" if field.unique else ""
    if field.max_length:
        text = text[: field.max_length - len(suffix)]
    return text + suffix


@dataclass
class Poisoned:
    fields: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)


def poison(model_list) -> Poisoned:
    """Formula-like text in every text field of every row of the exportable models."""
    result = Poisoned()
    for model in model_list:
        label = model._meta.label_lower
        result.fields[label], result.refused[label] = [], []
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        for f in text_fields(model):
            try:
                with transaction.atomic():
                    for row, pk in enumerate(pks):
                        model.objects.filter(pk=pk).update(**{f.name: payload_for(f, row)})
            except IntegrityError:
                result.refused[label].append(f.name)
            else:
                result.fields[label].append(f.name)
    return result


def constrained_field_names(model) -> set[str]:
    """Fields named in the model's database check constraints."""

    def names(q):
        for child in q.children:
            if isinstance(child, models.Q):
                yield from names(child)
            else:
                yield child[0].split("__")[0]

    return {
        name
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
        for name in names(constraint.condition)
    }


def export(client, model, format_class) -> list[tuple[type, bytes]]:
    """One export file per resource of the model's admin, every column selected."""
    model_admin = admin.site._registry[model]
    position = next(
        str(i)
        for i, f in enumerate(model_admin.get_export_formats())
        if issubclass(f, format_class)
    )
    form = client.get(admin_url(model, "export")).context["form"]
    files = []
    for index, resource in enumerate(form.resources):
        names = form.resource_fields[resource.__name__]
        data = {"format": position, "resource": str(index), **dict.fromkeys(names, "on")}
        response = client.post(admin_url(model, "export"), data)
        assert response.status_code == 200, response.content[:500]
        files.append((resource, response.content))
    return files


def poisoned_columns(model, resource, poisoned: Poisoned) -> set[str]:
    """The export columns whose values come from a text field that holds formula-like text."""
    columns = set()
    for export_field in resource().get_export_fields():
        if not export_field.attribute:
            continue
        current, model_field = model, None
        for part in export_field.attribute.split("__"):
            model_field = current._meta.get_field(part)
            if model_field.is_relation and part != export_field.attribute.split("__")[-1]:
                current = model_field.related_model
        name = model_field.name
        if model_field.is_relation and getattr(export_field.widget, "field", None):
            current, name = model_field.related_model, export_field.widget.field
        if name in poisoned.fields.get(current._meta.label_lower, ()):
            columns.add(export_field.column_name)
    return columns


@dataclass
class Tally:
    formulas: int = 0
    unescaped: int = 0
    escaped: int = 0
    cells: int = 0

    def text(self, value: str) -> None:
        self.cells += 1
        if value.startswith(READ_BACK_PREFIXES):
            self.unescaped += 1
        elif value.startswith("'") and value[1:].startswith(READ_BACK_PREFIXES):
            self.escaped += 1


def read_xlsx(content: bytes, tally: Tally) -> list[list]:
    workbook = load_workbook(io.BytesIO(content))
    rows = []
    for sheet in workbook.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                if cell.data_type == "f":
                    tally.formulas += 1
                elif isinstance(cell.value, str):
                    tally.text(cell.value)
            rows.append([cell.value for cell in line])
    return rows


def read_csv(content: bytes, tally: Tally) -> list[list]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    for line in rows:
        for value in line:
            tally.text(value)
    return rows


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def seeded():
    model_list = exportable_models()
    for model in model_list:
        for _ in range(ROWS_PER_MODEL):
            ROW_BUILDERS[model._meta.label_lower]()
    return model_list, poison(model_list)


def test_the_registry_offers_exports_and_only_the_portals_escaping_formats():
    model_list = exportable_models()
    assert model_list, "no admin offers an export"
    for model in model_list:
        formats = admin.site._registry[model].get_export_formats()
        assert {f.__module__ for f in formats} == {"portal.exporting"}, model


@pytest.mark.parametrize("format_class, reader", [(XLSX, read_xlsx), (CSV, read_csv)])
def test_every_admin_export_escapes_formula_like_text_in_every_text_field(
    staff_client, settings, seeded, format_class, reader
):
    assert settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is True
    model_list, poisoned = seeded
    report = {}
    for model in model_list:
        label = model._meta.label_lower
        assert poisoned.fields[label] or not text_fields(model), label
        assert set(poisoned.refused[label]) <= constrained_field_names(model), label
        tally = Tally()
        for resource, content in export(staff_client, model, format_class):
            header, *rows = reader(content, tally)
            assert len(rows) == model.objects.count(), label
            for column in poisoned_columns(model, resource, poisoned):
                values = [row[header.index(column)] for row in rows]
                # Each payload shows as itself behind one quote: escaped, not stripped.
                assert all(
                    v.startswith("'") and v[1:].startswith(READ_BACK_PREFIXES) for v in values
                ), (label, column, values)
        report[label] = tally
        assert (tally.formulas, tally.unescaped) == (0, 0), (label, tally)
    print(format_class.__name__, {label: vars(t) for label, t in report.items()})
    print("fields", poisoned.fields, "refused", poisoned.refused)


@pytest.mark.parametrize("their_escaping", [True, False])
def test_an_admin_export_shows_the_text_behind_a_quote_whatever_import_exports_setting(
    staff_client, settings, seeded, their_escaping
):
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = their_escaping
    model_list, _ = seeded
    model = next(m for m in model_list if m._meta.label_lower == "bases.base")
    ((_, content),) = export(staff_client, model, XLSX)
    names = {line[1] for line in load_workbook(io.BytesIO(content)).active.values}

    assert "'" + PAYLOADS[0] in names
    assert "'@SUM(1)" in names and "'-2+3" in names
