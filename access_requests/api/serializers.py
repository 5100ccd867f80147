"""The data API's shapes, each declared once: what a view answers is what the schema says.

The serializers carry comments, not docstrings: drf-spectacular publishes a serializer's
docstring as its schema's description.
"""

from typing import Any

from django.urls import reverse
from rest_framework import serializers
from rest_framework.fields import SkipField

from access_requests.models import Export
from ingest import dictionary
from ingest.catalogue import REPORT_CATALOGUE, ColumnKind

ROW_FIELD_KINDS: dict[ColumnKind, type[serializers.Field]] = {
    ColumnKind.TEXT: serializers.CharField,
    ColumnKind.INTEGER: serializers.IntegerField,
    ColumnKind.DATE: serializers.DateField,
}


def row_field(kind: ColumnKind, *, always: bool, help_text: str) -> serializers.Field:
    # A field every row carries is required and never null; a granted element's field is
    # there only when the grant holds the element, and null when the report had no value.
    options: dict[str, Any] = {
        "required": always,
        "allow_null": not always,
        "help_text": help_text,
    }
    if kind == ColumnKind.NAME_LIST:
        return serializers.ListField(child=serializers.CharField(), **options)
    if kind == ColumnKind.NAME_MAP:
        return serializers.DictField(child=serializers.CharField(), **options)
    return ROW_FIELD_KINDS[kind](**options)


class ReportRowSerializer(serializers.Serializer):
    # One daily report as the data API and the exports give it: its date and
    # installation pseudonym always, then the fields of the grant's elements.
    def get_fields(self) -> dict[str, serializers.Field]:
        always = {stored.name for stored in dictionary.row_fields()}
        return {
            column.output: row_field(
                column.kind,
                always=column.output in always,
                help_text=row_field_help(dictionary.stored_field(column), column.output in always),
            )
            for column in REPORT_CATALOGUE.columns
        }


def row_field_help(stored: dictionary.StoredField, always: bool) -> str:
    presence = "In every row." if always else "Only when the grant holds its element."
    values = f" Values: {', '.join(stored.values)}." if stored.values else ""
    return f"{presence} {stored.description}{values}"


class ReportPageSerializer(serializers.Serializer):
    # One page of DataReportsView. Its results are JSON text already (PostgreSQL writes
    # each row), so the view renders the page with the results empty and fills them in.
    grant = serializers.IntegerField()
    # DRF's metaclass takes declared fields out of the class body, so this one does not
    # replace Serializer.fields at run time; the stubs cannot see that.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(),
        help_text="The rows' field names, in order: installation and date in every row, "
        "then the fields of each granted element.",
    )
    count = serializers.IntegerField()
    next_cursor = serializers.CharField(allow_null=True)
    results = ReportRowSerializer(many=True)


class RollupRowsSerializer(serializers.Serializer):
    grant = serializers.IntegerField()
    dimension = serializers.CharField()
    results = serializers.ListField(child=serializers.DictField())


class BlankAsNullField(serializers.CharField):
    # The row stores "" for "none"; the API says null.
    def to_representation(self, value):
        return super().to_representation(value) or None


class ExportUrlField(serializers.URLField):
    """The absolute URL of one of an export's API routes, built from the request.

    ``when``: the name of the export's property that must hold for the URL to be given;
    otherwise the key is left out of the document.
    """

    def __init__(self, view_name: str, *, when: str | None = None, **kwargs):
        self.view_name, self.when = view_name, when
        super().__init__(**kwargs)

    def get_attribute(self, export: Export) -> str:
        if self.when is not None and not getattr(export, self.when):
            raise SkipField
        return self.context["request"].build_absolute_uri(reverse(self.view_name, args=[export.pk]))

    def to_representation(self, url: str) -> str:
        return url


class ExportSerializer(serializers.Serializer):
    # An export, as the export API answers it. "from" and "to" are Python keywords, so
    # the fields are built by get_fields rather than declared as class attributes.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "id": serializers.IntegerField(),
            "format": serializers.CharField(),
            "from": serializers.DateField(source="period_start"),
            "to": serializers.DateField(source="period_end"),
            "state": serializers.CharField(source="current_state"),
            "progress": serializers.IntegerField(),
            "rows": serializers.IntegerField(allow_null=True),
            "size_bytes": serializers.IntegerField(allow_null=True),
            "sha256": BlankAsNullField(allow_null=True),
            "error": BlankAsNullField(allow_null=True),
            "created_at": serializers.DateTimeField(),
            "finished_at": serializers.DateTimeField(allow_null=True),
            "expires_at": serializers.DateTimeField(allow_null=True),
            "url": ExportUrlField("api-export"),
            "download_url": ExportUrlField(
                "api-export-download", when="is_downloadable", required=False
            ),
            "datasheet_url": ExportUrlField(
                "api-export-datasheet", when="has_datasheet", required=False
            ),
        }


class ExportPageSerializer(serializers.Serializer):
    # One page of the grant's exports, newest first (DRF's page-number pagination).
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ExportSerializer(many=True)


class ExportRequestSerializer(serializers.Serializer):
    # The body of a request for an export, for the schema. ExportsView reads it by hand:
    # a date must be written YYYY-MM-DD (DRF's DateField reads more), and the format is
    # checked by export_request_or_reuse after the grant's own refusals, in that order.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "format": serializers.ChoiceField(choices=Export.Format.values),
            "from": serializers.DateField(required=False),
            "to": serializers.DateField(required=False),
        }
