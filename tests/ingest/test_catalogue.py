"""The catalogue is the one source of a report's per-column facts.

Adding a storable element touches the catalogue (and its parser) and a migration for
its columns: every other table derives from the catalogue. These tests build catalogues
with one more element and check that each derived table picks it up, and that the
report's model and the catalogue hold the same columns.
"""

import dataclasses

import pyarrow as pa
import pytest
from django.db import models
from drf_spectacular.generators import SchemaGenerator

from access_requests import export_files, grant_scope
from ingest import synthetic
from ingest.api.schema import REPORT, report_schema
from ingest.catalogue import (
    CATALOGUE,
    COLUMNS,
    DEFINITION_COLUMNS,
    DEFINITION_KINDS,
    JSON_COLUMNS,
    KEY_COLUMNS,
    REPORT_CATALOGUE,
    REPORT_COLUMNS,
    Catalogue,
    ClientField,
    Column,
    ColumnKind,
    Element,
)
from ingest.dimensions import DIMENSIONS
from ingest.models import Report
from ingest.services import reports, rollups

BOOKKEEPING = {"id", "policy_version", "revision"}
MODEL_KINDS = {
    models.CharField: {ColumnKind.TEXT},
    models.DateField: {ColumnKind.DATE},
    models.PositiveIntegerField: {ColumnKind.INTEGER},
    models.JSONField: {ColumnKind.NAME_LIST, ColumnKind.NAME_MAP},
}

# Two elements the review might approve one day: a text one and a list of names.
KUBERNETES_VERSION = (
    Element("kubernetesVersion", "The Kubernetes minor version, such as v1.30."),
    ClientField("kubernetesVersion", "kubernetesVersion", {"type": "string", "nullable": True}),
    Column("kubernetes_version", "kubernetesVersion", ColumnKind.TEXT, csv_neutralised=True),
)
FEATURE_GATES = (
    Element("featureGates", "The names of the KubeVela feature gates switched on."),
    ClientField("featureGates", "featureGates", {"type": "array", "items": {"type": "string"}}),
    Column("feature_gates", "featureGates", ColumnKind.NAME_LIST),
)


def with_element(element: Element, client_field: ClientField, column: Column) -> Catalogue:
    return dataclasses.replace(
        REPORT_CATALOGUE,
        elements=(*REPORT_CATALOGUE.elements, element),
        client_fields=(*REPORT_CATALOGUE.client_fields, client_field),
        columns=(*REPORT_CATALOGUE.columns, column),
    )


def test_every_report_field_is_a_catalogue_column_and_back():
    fields = {f.name: f for f in Report._meta.concrete_fields if f.name not in BOOKKEEPING}
    assert set(fields) == {column.name for column in COLUMNS}
    for column in COLUMNS:
        assert column.kind in MODEL_KINDS[type(fields[column.name])], column.name


def test_every_element_is_stored_and_every_stored_element_is_read_or_stamped():
    for key, spec in CATALOGUE.items():
        assert spec.columns, key
        assert spec.client_fields or key == "requestTime", key
    assert KEY_COLUMNS == ("platform_id", "report_date")
    assert set(REPORT_COLUMNS) == {column.name for column in COLUMNS} - set(KEY_COLUMNS)


def test_the_live_tables_are_derived_from_the_catalogue():
    assert reports.REPORT_COLUMNS == REPORT_COLUMNS
    assert reports.JSON_COLUMNS == JSON_COLUMNS
    assert reports.upsert_sql(REPORT_COLUMNS) == reports.UPSERT_SQL
    assert rollups.DEFINITION_COLUMNS == DEFINITION_COLUMNS
    assert REPORT_CATALOGUE.element_fields() == grant_scope.ELEMENT_FIELDS
    assert REPORT_CATALOGUE.json_fields() == export_files.JSON_FIELDS
    assert REPORT_CATALOGUE.csv_neutralised_fields() == export_files.TEXT_FIELDS
    assert export_files.parquet_types(REPORT_CATALOGUE) == export_files.PARQUET_TYPES
    assert report_schema(REPORT_CATALOGUE) == REPORT
    assert synthetic.column_groups(REPORT_CATALOGUE) == synthetic.COLUMN_GROUPS


def test_the_openapi_schema_states_the_catalogues_payload():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["VelaUXReport"] == report_schema(REPORT_CATALOGUE)


@pytest.mark.parametrize("extra", [KUBERNETES_VERSION, FEATURE_GATES], ids=["text", "name list"])
def test_an_extra_element_reaches_every_derived_table(extra):
    element, client_field, column = extra
    catalogue = with_element(element, client_field, column)
    spec = catalogue.by_key()[element.key]
    assert (spec.client_fields, spec.columns) == ((client_field.name,), (column.name,))
    # the receiver: what a parsed report fills, and the upsert that stores it
    assert catalogue.report_columns() == (*REPORT_COLUMNS, column.name)
    upsert = reports.upsert_sql(catalogue.report_columns())
    assert f", {column.name}, revision)" in upsert
    assert f"{column.name} = EXCLUDED.{column.name}" in upsert
    assert (column.name in catalogue.json_columns()) == column.kind.is_json
    # the data API and exports
    assert catalogue.element_fields() == {
        **grant_scope.ELEMENT_FIELDS,
        element.key: (column.output,),
    }
    assert (column.output in catalogue.json_fields()) == column.kind.is_json
    assert (column.output in catalogue.csv_neutralised_fields()) == column.csv_neutralised
    parquet = export_files.parquet_types(catalogue)
    assert parquet == {**export_files.PARQUET_TYPES, column.output: parquet[column.output]}
    expected = pa.string() if column.kind is ColumnKind.TEXT else pa.list_(pa.string())
    assert parquet[column.output] == expected
    # the payload schema
    payload = report_schema(catalogue)
    assert payload["properties"] == {**REPORT["properties"], client_field.name: client_field.schema}
    # the synthetic fleet stores it (as NULL: the model draws nothing for it yet)
    groups = synthetic.column_groups(catalogue)
    assert groups.static == (*synthetic.STATIC_COLUMNS, column.name)
    assert (groups.browser, groups.paths) == (synthetic.BROWSER_COLUMNS, synthetic.PATH_COLUMNS)


def test_the_four_definition_kinds_name_their_field_column_and_dimension():
    assert [kind.client_field for kind in DEFINITION_KINDS] == [
        "componentDefinitionTopList",
        "traitDefinitionTopList",
        "workflowStepDefinitionTopList",
        "policyDefinitionTopList",
    ]
    assert CATALOGUE["xDefinitionTopList"].client_fields == tuple(
        kind.client_field for kind in DEFINITION_KINDS
    )
    assert CATALOGUE["xDefinitionTopList"].columns == tuple(
        kind.column for kind in DEFINITION_KINDS
    )
    for kind in DEFINITION_KINDS:
        assert DIMENSIONS[kind.dimension].element == "xDefinitionTopList"
        assert DIMENSIONS[kind.dimension].title == f"{kind.label.capitalize()} definitions"


def test_a_catalogue_refuses_rows_that_belong_to_no_element_or_come_out_of_order():
    element, client_field, column = KUBERNETES_VERSION
    with pytest.raises(ValueError, match="belongs to no element"):
        dataclasses.replace(REPORT_CATALOGUE, columns=(*REPORT_CATALOGUE.columns, column))
    with pytest.raises(ValueError, match="order of their elements"):
        dataclasses.replace(
            REPORT_CATALOGUE,
            elements=(*REPORT_CATALOGUE.elements, element),
            columns=(column, *REPORT_CATALOGUE.columns),
        )
    with pytest.raises(ValueError, match="repeat"):
        with_element(element, client_field, dataclasses.replace(column, name="release"))
