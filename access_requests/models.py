import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Profile(models.Model):
    """What a community member tells about themselves; edited by its owner only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=150, blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text="The language of the pages and emails; blank follows the browser.",
    )

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class DataUseTerms(models.Model):
    """A version of the terms an applicant accepts; requests record the version accepted."""

    version = models.PositiveIntegerField(unique=True)
    text = models.TextField()
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]
        verbose_name = "data-use terms"
        verbose_name_plural = "data-use terms"

    def __str__(self) -> str:
        return f"Data-use terms v{self.version}"

    @property
    def paragraphs(self) -> list[str]:
        """The text as paragraphs for a page: blank lines separate them, and a line that
        starts with a space continues the one before (the text is stored wrapped)."""
        paragraphs: list[str] = []
        for line in self.text.splitlines():
            if not line.strip():
                paragraphs.append("")
            elif line[0].isspace() and paragraphs and paragraphs[-1]:
                paragraphs[-1] += " " + line.strip()
            else:
                paragraphs.append(line.strip())
        return [p for p in paragraphs if p]


class Dataset(models.TextChoices):
    REPORTS = "reports", _("Pseudonymised daily reports")
    ROLLUPS = "rollups", _("Daily rollups")


# Who may review requests (approve, reject, ask for more information) and revoke grants.
REVIEW_PERMISSION = "access_requests.review_accessrequest"


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        INFO_REQUESTED = "info_requested", _("More information asked")
        ANSWERED = "answered", _("Answered")
        APPROVED = "approved", pgettext_lazy("request status", "Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    PENDING = (Status.SUBMITTED, Status.INFO_REQUESTED, Status.ANSWERED)

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    purpose = models.CharField(max_length=200, help_text="A one-line summary, shown publicly.")
    justification = models.TextField()
    intended_use = models.TextField()
    publication_plans = models.TextField(blank=True)
    affiliation = models.CharField(max_length=200)
    datasets = models.JSONField(help_text="Which of: reports, rollups.")
    elements = models.JSONField(help_text="Data elements of the published policy asked for.")
    period_start = models.DateField()
    period_end = models.DateField()
    duration_days = models.PositiveSmallIntegerField()
    terms = models.ForeignKey(DataUseTerms, on_delete=models.PROTECT, related_name="+")
    policy_version = models.ForeignKey(
        "ingest.PolicyVersion", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    renewal_of = models.ForeignKey(
        "Grant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
        help_text="The grant this request asks to renew, if it is a renewal.",
    )

    class Meta:
        ordering = ["created_at"]
        permissions = [("review_accessrequest", "Can review access requests")]

    def __str__(self) -> str:
        return f"Request #{self.pk}: {self.purpose}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class RequestEvent(models.Model):
    """One step of a request's timeline, with the message shown to the applicant."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        INFO_REQUESTED = "info_requested", _("More information asked")
        ANSWERED = "answered", _("Answered")
        APPROVED = "approved", pgettext_lazy("request status", "Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        GRANT_REVOKED = "grant_revoked", _("Access revoked")
        EDITED = "edited", _("Edited by the applicant")
        REMINDED = "reminded", _("Reminded that access ends")
        RENEWAL_REQUESTED = "renewal", _("Renewal requested")

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind}"


def new_pseudonym_key() -> str:
    return secrets.token_hex(32)


class Grant(models.Model):
    """What an approval allows: which data, which elements, which period, until when."""

    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    datasets = models.JSONField()
    elements = models.JSONField()
    period_start = models.DateField()
    period_end = models.DateField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoke_reason = models.TextField(blank=True)
    pseudonym_key = models.CharField(
        max_length=64,
        default=new_pseudonym_key,
        editable=False,
        help_text="Keys this grant's installation pseudonyms; never shown.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")),
                name="access_grant_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"Grant #{self.pk} to {self.grantee}"

    @property
    def is_active(self) -> bool:
        """Neither revoked nor past its expiry: only then may its data be read or exported."""
        return self.revoked_at is None and self.expires_at > timezone.now()


class GrantReminder(models.Model):
    """One reminder that a grant ends soon; the unique pair makes sending it idempotent."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "days_before"], name="access_grant_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"Grant #{self.grant_id}: {self.days_before} days before it ends"


class ReadToken(models.Model):
    """A grantee's token for the data API; only its SHA-256 is stored."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, for recognition.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class Export(models.Model):
    """A dataset export. The row is the job's state; Celery only triggers work on it."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV (gzip)"
        JSONL = "jsonl", "JSON Lines (gzip)"
        PARQUET = "parquet", "Parquet (zstd)"

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", pgettext_lazy("export state", "Expired")

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    format = models.CharField(max_length=8, choices=Format.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveBigIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="export_state_heartbeat")]

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.format}, {self.state})"

    @property
    def current_state(self) -> str:
        """The state at this instant: past its expires_at a ready export is expired,
        whether or not the hourly task has run."""
        if self.state == self.State.READY and not self.is_downloadable:
            return self.State.EXPIRED
        return self.state

    @property
    def has_datasheet(self) -> bool:
        """Built once: the datasheet describes the file, and outlives it."""
        return self.rows is not None and bool(self.sha256)

    @property
    def is_downloadable(self) -> bool:
        """Ready and within its time to live: expiry is this instant, not the hourly task."""
        return (
            self.state == self.State.READY
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )
