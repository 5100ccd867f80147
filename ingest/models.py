from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PolicyVersion(models.Model):
    """One version of the data-collection policy; the receiver enforces the published one."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", pgettext_lazy("policy status", "Published")
        SUPERSEDED = "superseded", _("Superseded")

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    approved_on = models.DateField(
        null=True, blank=True, help_text="The date the policy was approved (for v1, by the LF)."
    )
    approval_reference = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True, help_text="What changed and why.")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published"),
                name="ingest_one_published_policy",
            )
        ]

    def __str__(self) -> str:
        return f"Policy v{self.number} ({self.get_status_display().lower()})"


class PolicyElement(models.Model):
    """One data element of a policy version, with the review's three answers."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.CASCADE, related_name="elements"
    )
    key = models.CharField(max_length=64, help_text="The element's name in the review.")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    personal_info = models.BooleanField(
        null=True, help_text="Could it be personal information? Empty: not assessed."
    )
    tracking_identifier = models.BooleanField(
        null=True, help_text="Could it be tracking or a unique identifier?"
    )
    sensitive_data = models.BooleanField(
        null=True, help_text="Could it be end-user, sensitive or business data?"
    )
    note = models.TextField(blank=True)
    rejection_reason = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["policy_version", "position", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy_version", "key"], name="ingest_policy_element_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.decision})"


class Report(models.Model):
    """One installation's report for one UTC day, in the approved coarse form.

    A later report on the same day replaces the earlier one; ``revision`` counts
    how many were received, which also bounds them per installation and day.
    """

    platform_id = models.CharField(max_length=64)
    report_date = models.DateField()
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    release = models.CharField(max_length=64, null=True, blank=True)
    git_commit = models.CharField(max_length=64, null=True, blank=True)
    install_date = models.DateField(null=True, blank=True)
    cluster_count_bucket = models.CharField(max_length=8, null=True, blank=True)
    app_count_bucket = models.CharField(max_length=8, null=True, blank=True)
    addons = models.JSONField(null=True, blank=True)
    component_definitions = models.JSONField(null=True, blank=True)
    trait_definitions = models.JSONField(null=True, blank=True)
    workflow_step_definitions = models.JSONField(null=True, blank=True)
    policy_definitions = models.JSONField(null=True, blank=True)
    browser_family = models.CharField(max_length=16, null=True, blank=True)
    browser_major_version = models.PositiveIntegerField(null=True, blank=True)
    screen_width = models.PositiveIntegerField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform_id", "report_date"], name="ingest_one_report_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["report_date", "id"], name="ingest_report_date_id"),
            # the data API's release filter pages through one release in (date, id) order
            models.Index(fields=["release", "report_date", "id"], name="ingest_report_release"),
        ]

    def __str__(self) -> str:  # never the platformID: admin titles and history show this
        return f"Report #{self.pk} of {self.report_date}"


class DiscardedFieldCount(models.Model):
    """How often a field the policy does not list was sent and discarded, per day.

    Only field *names* are kept. Counts are spread over a few shards so that
    concurrent reports do not queue on one row lock; readers sum the shards.
    """

    report_date = models.DateField()
    field_name = models.CharField(max_length=120)
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report_date", "field_name", "shard"], name="ingest_discarded_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_date} {self.field_name}: {self.count}"


class RollupDay(models.Model):
    """One UTC day's exact rollup, for maintainers and grantees: when and from how many reports.

    ``stale`` marks a day whose reports changed (an erasure) since it was rolled up; the
    hourly task rolls stale days up again, once per day however many erasures came.
    """

    day = models.DateField(unique=True)
    reports = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    stale = models.BooleanField(default=False)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"rollup {self.day} ({self.reports} reports)"


class DailyRollup(models.Model):
    """Installations per group of one dimension on one UTC day: true counts.

    Maintainers, auditors and grantees with the rollups dataset read these. The public
    statistics never do: they come from ``PublicFigure``.
    """

    day = models.DateField()
    dimension = models.CharField(max_length=32)
    value = models.CharField(max_length=255)  # a definition name reaches 253 characters
    installations = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "value"], name="ingest_rollup_unique_group"
            )
        ]
        indexes = [models.Index(fields=["dimension", "day"], name="ingest_rollup_dimension_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}: {self.installations}"


class StatsRelease(models.Model):
    """The public release of one UTC day's statistics: drawn once, after the day closed.

    The noise is drawn when the row is made and the figures are stored; nothing changes
    them afterwards. ``release_number`` above 1 means an operator released the day again,
    which spent its privacy budget again (see ingest.privacy).
    """

    day = models.DateField(unique=True)
    released_at = models.DateTimeField()
    release_number = models.PositiveSmallIntegerField(default=1)
    rho = models.FloatField(help_text="zCDP ρ spent on this day, all dimensions and releases.")
    delta = models.FloatField(help_text="δ of the thresholds, all dimensions and releases.")
    noise_scale = models.FloatField()
    threshold = models.PositiveIntegerField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"statistics of {self.day} (release {self.release_number})"


class PublicFigure(models.Model):
    """One released figure: a label's noisy count on one day. May be negative."""

    day = models.DateField()
    dimension = models.CharField(max_length=32)
    label = models.CharField(max_length=255)
    value = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "label"], name="ingest_public_figure_unique"
            )
        ]
        indexes = [models.Index(fields=["dimension", "day"], name="ingest_public_dimension_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.label}: {self.value}"
