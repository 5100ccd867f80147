"""The public API's answers, each declared once: what a view answers is what the schema says.

The figures themselves are built by the selectors the pages and the CSV share
(``ingest.stats``, ``ingest.selectors``); these serializers give the API's shape of them.
The serializers carry comments, not docstrings: drf-spectacular publishes a serializer's
docstring as its schema's description.
"""

from rest_framework import serializers


class DimensionLinkSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    element = serializers.CharField()
    url = serializers.URLField()


class StatsIndexSerializer(serializers.Serializer):
    # The dimensions of the public statistics and the privacy statement of their figures.
    min_installations = serializers.IntegerField()
    privacy = serializers.DictField(help_text="The privacy statement (see /stats/privacy/).")
    dimensions = DimensionLinkSerializer(many=True)


# DRF's metaclass takes declared fields out of the class body, so a field named "label"
# does not replace Field.label at run time; the stubs cannot see that.


class StatsGroupSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    installation_days = serializers.IntegerField()
    average_daily_installations = serializers.FloatField()


class StatsNoiseSerializer(serializers.Serializer):
    daily_standard_deviation = serializers.FloatField()
    average_standard_deviation = serializers.FloatField()


class StatsDayFigureSerializer(serializers.Serializer):
    day = serializers.DateField()
    label = serializers.CharField()  # type: ignore[assignment]
    installations = serializers.IntegerField()


class StatsDimensionSerializer(serializers.Serializer):
    # One dimension's released figures over a range: sums of the daily figures. "from"
    # and "to" are Python keywords, so the fields are built by get_fields rather than
    # declared as class attributes.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "dimension": serializers.CharField(),
            "title": serializers.CharField(),
            "description": serializers.CharField(),
            "kind": serializers.CharField(),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "days_released": serializers.IntegerField(),
            "min_installations": serializers.IntegerField(),
            "display_floor": serializers.FloatField(),
            "noise": StatsNoiseSerializer(),
            "privacy": serializers.DictField(
                help_text="This dimension's share of the privacy budget."
            ),
            "groups": StatsGroupSerializer(many=True),
            "total_installation_days": serializers.IntegerField(
                required=False, help_text="Single-valued dimensions only: the groups' sum."
            ),
            "daily": StatsDayFigureSerializer(many=True),
        }


class PolicyElementSerializer(serializers.Serializer):
    name = serializers.CharField()
    decision = serializers.CharField()
    could_be_personal_info = serializers.BooleanField(allow_null=True)  # null: not assessed
    could_be_tracking_or_unique_identifier = serializers.BooleanField(
        allow_null=True
    )  # null: not assessed
    could_be_end_user_sensitive_or_business_data = serializers.BooleanField(
        allow_null=True
    )  # null: not assessed
    note = serializers.CharField(allow_blank=True)
    client_fields = serializers.ListField(child=serializers.CharField(), required=False)
    stored_as = serializers.CharField(required=False, allow_blank=True)
    set_by = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True)


class PolicyEndpointSerializer(serializers.Serializer):
    method = serializers.CharField()
    url = serializers.CharField()
    purpose = serializers.CharField()


class SendingFrequencySerializer(serializers.Serializer):
    client = serializers.CharField()
    stored = serializers.CharField()


class PolicySerializer(serializers.Serializer):
    # The published data-collection policy, as ingest.selectors.policy_document builds it.
    version = serializers.IntegerField()
    status = serializers.CharField()
    approved_on = serializers.DateField(allow_null=True)
    approval_reference = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField(allow_null=True)
    elements = PolicyElementSerializer(many=True)
    rejected_elements = PolicyElementSerializer(many=True)
    endpoints = PolicyEndpointSerializer(many=True)
    sending_frequency = SendingFrequencySerializer()
    hosts = serializers.ListField(child=serializers.CharField())
    retention_days = serializers.IntegerField()
    never_collected = serializers.ListField(child=serializers.CharField())
