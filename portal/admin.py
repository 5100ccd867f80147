from django.contrib import admin

from portal.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write: visible to those allowed to view, editable by nobody."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "actor", "occurred_at")
    search_fields = ("actor_label", "action", "target_id")
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


admin.site.site_header = "KubeVela telemetry portal: maintainers"
admin.site.site_title = "Telemetry portal admin"
admin.site.index_title = "Review, policy and audit"
