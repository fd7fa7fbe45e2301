"""Admin for alerts: channels (admins edit them; a "send test alert" action), and the events
and their deliveries, read-only (written by detection and delivery)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.db.models import Count, Q
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminTextInputWidget,
    UnfoldAdminURLInputWidget,
)

from alerts.models import URL_KINDS, AlertChannel, AlertDelivery, AlertEvent, DeliveryStatus, EventKind
from alerts.services import alerts_send_test
from alerts.transport import url_masked
from whalefall.admin_tools import (
    ModelAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TabularInline,
    badge,
    pretty_json,
    prose,
)


class AlertChannelForm(forms.ModelForm):
    """Event kinds as checkboxes; recipients comma-separated, each checked as an e-mail address."""

    event_kinds = forms.MultipleChoiceField(
        choices=EventKind.choices, required=False, widget=UnfoldAdminCheckboxSelectMultipleWidget,
        help_text="None ticked: every kind.",
    )  # fmt: skip
    recipients = SimpleArrayField(
        forms.EmailField(), required=False, help_text="E-mail: addresses separated by commas.",
        widget=UnfoldAdminTextInputWidget,
    )

    class Meta:
        model = AlertChannel
        fields = ("name", "kind", "url", "recipients", "event_kinds", "min_severity", "delivery_mode",
                  "limit_days", "is_active")  # fmt: skip
        widgets = {"url": UnfoldAdminURLInputWidget}


@admin.register(AlertChannel)
class AlertChannelAdmin(ModelAdmin):
    """Where alerts go. Only admins see this list: a webhook URL may hold a token."""

    form = AlertChannelForm
    actions = ("send_test_action",)
    list_display = ("name", "kind", "target", "kinds", "min_severity", "delivery_mode", "is_active", "unsent")
    list_filter = ("kind", "delivery_mode", "is_active")
    list_select_related = ()
    search_fields = ("name",)
    readonly_fields = ("last_digest_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "is_active")}),
        ("Destination", {"fields": ("url", "recipients")}),
        ("What to send", {"fields": ("event_kinds", "min_severity", "limit_days", "delivery_mode")}),
        ("History", {"fields": ("last_digest_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        unsent = Count("deliveries", filter=~Q(deliveries__status=DeliveryStatus.SENT))
        return super().get_queryset(request).annotate(unsent_count=unsent)

    @admin.display(description="Destination")
    def target(self, obj: AlertChannel) -> str:
        return prose(url_masked(obj.url) if obj.kind in URL_KINDS else ", ".join(obj.recipients), limit=60)

    @admin.display(description="Event kinds")
    def kinds(self, obj: AlertChannel) -> str:
        return prose(", ".join(obj.event_kinds), limit=80) if obj.event_kinds else "all"

    @admin.display(description="Unsent", ordering="unsent_count")
    def unsent(self, obj: AlertChannel) -> int:
        return obj.unsent_count

    @admin.action(description="Send a test alert", permissions=["change"])
    def send_test_action(self, request, queryset):
        for outcome in alerts_send_test(channels=list(queryset.order_by("name"))):
            if outcome.error:
                self.message_user(request, f"{outcome.channel}: not sent: {outcome.error}", messages.ERROR)
            else:
                self.message_user(request, f"{outcome.channel}: test alert sent.", messages.SUCCESS)


class AlertDeliveryInline(ReadOnlyInlineMixin, TabularInline):
    model = AlertDelivery
    fields = ("channel", "status", "attempts", "last_attempt_at", "sent_at", "last_error")
    readonly_fields = fields
    ordering = ("channel__name",)


class DeliveryStatusFilter(admin.SimpleListFilter):
    """Events with at least one delivery in that state (``none``: no channel wanted it)."""

    title = "delivery status"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return (*DeliveryStatus.choices, ("none", "No delivery"))

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(deliveries__isnull=True)
        if value in DeliveryStatus.values:
            return queryset.filter(pk__in=AlertDelivery.objects.filter(status=value).values("event_id"))
        return queryset


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """What detection recorded, once per condition, with where it was sent."""

    scope_instance_path = "instance"

    list_display = ("created_at", "severity", "kind", "summary", "instance", "delivery_summary", "cleared_at")
    list_filter = ("kind", "severity", DeliveryStatusFilter, "created_at")
    list_select_related = ("instance",)
    search_fields = ("title", "=dedup_key")
    date_hierarchy = "created_at"
    inlines = (AlertDeliveryInline,)
    fields = ("kind", "severity", "title", "dedup_key", "instance", "account", "database_name", "created_at",
              "cleared_at", "details")  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        counts = {status: Count("deliveries", filter=Q(deliveries__status=status)) for status in DeliveryStatus.values}
        return super().get_queryset(request).annotate(**{f"n_{k}": v for k, v in counts.items()})

    @admin.display(description="Title", ordering="title")
    def summary(self, obj: AlertEvent) -> str:
        return prose(obj.title, limit=120)

    @admin.display(description="Deliveries")
    def delivery_summary(self, obj: AlertEvent) -> str:
        parts = [f"{getattr(obj, f'n_{s}')} {s}" for s in DeliveryStatus.values if getattr(obj, f"n_{s}")]
        return ", ".join(parts) or "none"

    @admin.display(description="Details")
    def details(self, obj: AlertEvent) -> str:
        return pretty_json(obj.payload)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Every event × channel: pending, sent or failed (with the error; retried by the next run)."""

    scope_instance_path = "event__instance"

    # what the page is for: where each alert went, whether it got there, and why not
    list_display = ("event_title", "channel", "state", "attempts", "last_attempt_at", "error")
    list_filter = ("status", "channel", "created_at")
    list_select_related = ("event", "channel")
    search_fields = ("event__title",)

    @admin.display(description="Event", ordering="event__created_at")
    def event_title(self, obj: AlertDelivery) -> str:
        return prose(obj.event.title, limit=90)

    @admin.display(description="Status", ordering="status")
    def state(self, obj: AlertDelivery) -> str:
        tone = {DeliveryStatus.SENT: "ok", DeliveryStatus.FAILED: "bad"}.get(obj.status, "warn")
        return badge(obj.status, tone)

    @admin.display(description="Last error")
    def error(self, obj: AlertDelivery) -> str:
        return prose(obj.last_error, limit=120)
