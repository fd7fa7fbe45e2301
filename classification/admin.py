"""Admin for account classifications, their rules, current assignments,
assignment history and daily statistics.

Classifications and rules are edited here; assignments, history and daily
stats are written by the classification services and are read-only.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import account_admin_extend
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
)
from classification.selectors import accounts_with_classification, rule_preview
from classification.services import rule_create, rule_update
from whalefall.admin_tools import (
    BigTableAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    count_subquery,
    recent_date_filter,
)


@admin.register(AccountClassification)
class AccountClassificationAdmin(admin.ModelAdmin):
    """Risk classifications; system classifications cannot be deleted."""

    list_select_related = ()
    list_display = (
        "name",
        "code",
        "risk_level",
        "color_swatch",
        "priority",
        "is_system",
        "is_active",
        "rule_count",
        "account_count",
    )
    list_filter = ("risk_level", "is_active", "is_system")
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}
    readonly_fields = ("rule_link", "created_at", "updated_at")
    ordering = ("-priority", "name")
    fieldsets = (
        (None, {"fields": ("name", "code", "description")}),
        ("Display", {"fields": ("risk_level", "color", "priority")}),
        ("Status", {"fields": ("is_active", "is_system", "rule_link", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _rule_count=count_subquery(ClassificationRule, "classification"),
                _account_count=count_subquery(AccountClassificationAssignment, "classification"),
            )
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Color")
    def color_swatch(self, obj: AccountClassification) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};'
            'border:1px solid #999;vertical-align:middle"></span> {}',
            obj.color,
            obj.color,
        )

    @admin.display(description="Rules", ordering="_rule_count")
    def rule_count(self, obj: AccountClassification) -> int:
        return obj._rule_count

    @admin.display(description="Accounts", ordering="_account_count")
    def account_count(self, obj: AccountClassification) -> str:
        url = (
            reverse("admin:classification_accountclassificationassignment_changelist")
            + f"?classification__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._account_count)

    @admin.display(description="Rules")
    def rule_link(self, obj: AccountClassification) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:classification_classificationrule_changelist") + f"?classification__id__exact={obj.pk}"
        return format_html('<a href="{}">{} rule(s)</a>', url, obj._rule_count)


class PrettyJSONField(forms.JSONField):
    """JSON form field that shows its value indented."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class ClassificationRuleAdminForm(forms.ModelForm):
    """Rule form; the expression is edited as indented JSON (validated by the model)."""

    expression = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 100, "style": "font-family:monospace"}),
        help_text='JSON DSL, e.g. {"op": "or", "args": [{"fn": "is_superuser"}, {"fn": "can_grant"}]}',
    )

    class Meta:
        model = ClassificationRule
        fields = ("classification", "db_type", "name", "expression", "is_active")


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(admin.ModelAdmin):
    """Rules (boolean JSON expressions over account facts), one engine each."""

    form = ClassificationRuleAdminForm
    list_display = ("name", "classification", "db_type", "is_active", "version", "updated_at")
    list_select_related = ("classification", "db_type")
    list_filter = ("db_type", "is_active", "classification")
    search_fields = ("name", "classification__name", "classification__code")
    autocomplete_fields = ("classification",)
    readonly_fields = ("version", "created_at", "updated_at")
    ordering = ("classification__name", "name")
    fieldsets = (
        (None, {"fields": ("name", "classification", "db_type", "is_active")}),
        ("Expression", {"fields": ("expression",)}),
        ("Status", {"fields": ("version", "created_at", "updated_at")}),
    )
    change_form_template = "admin/classification/classificationrule/change_form.html"

    def save_model(self, request, obj, form, change):
        """Through the services: the expression is validated, ``version`` goes up when what
        the rule decides changes."""
        if change:
            stored = ClassificationRule.objects.get(pk=obj.pk)
            updated = rule_update(rule=stored, **{name: form.cleaned_data[name] for name in form.changed_data})
            obj.version = updated.version
        else:
            data = form.cleaned_data
            created = rule_create(
                classification=data["classification"], db_type=data["db_type"].pk, name=data["name"],
                expression=data["expression"], is_active=data.get("is_active", True),
            )  # fmt: skip
            obj.pk, obj.version, obj._state.adding = created.pk, created.version, False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """"Preview" (the ``_preview`` button) evaluates the draft against the engine's accounts
        and shows who it would add and remove, and why, then redisplays the form unsaved."""
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview(request, object_id, form_url)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview(self, request, object_id, form_url):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if (obj is None and not self.has_add_permission(request)) or (
            obj is not None and not self.has_change_permission(request, obj)
        ):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(request, obj, change=obj is not None, fields=flatten_fieldsets(fieldsets))
        form = form_class(request.POST, instance=obj or self.model())
        preview = None
        if form.is_valid():  # includes the rule's own validation (the JSON paths of every problem)
            data = form.cleaned_data
            preview = rule_preview(
                classification=data["classification"], db_type=data["db_type"].pk, expression=data["expression"],
                replacing_rule_id=obj.pk if obj else None,
            )  # fmt: skip
        admin_form = helpers.AdminForm(
            form, list(fieldsets), self.get_prepopulated_fields(request, obj), self.get_readonly_fields(request, obj),
            model_admin=self,
        )  # fmt: skip
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {obj or 'a new rule'}",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "preview": preview,
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj,
                                       form_url=form_url)  # fmt: skip


@admin.register(AccountClassificationAssignment)
class AccountClassificationAssignmentAdmin(BigTableAdmin):
    """Current assignments (one row per account and classification)."""

    list_display = ("account", "instance", "classification", "source", "rule", "assigned_by", "assigned_at")
    list_select_related = ("account__instance", "classification", "rule", "assigned_by")
    list_filter = ("classification", "source")
    search_fields = ("^account__username", "=account__instance__name")
    fields = ("account", "classification", "source", "rule", "assigned_by", "assigned_at")
    readonly_fields = fields
    ordering = ("-assigned_at",)

    @admin.display(description="Instance", ordering="account__instance__name")
    def instance(self, obj: AccountClassificationAssignment):
        return obj.account.instance


@admin.register(AccountClassificationHistory)
class AccountClassificationHistoryAdmin(BigTableAdmin):
    """Every add/remove of an assignment, grouped by batch."""

    list_display = (
        "changed_at",
        "account",
        "instance",
        "classification",
        "action",
        "source",
        "rule",
        "short_batch",
        "changed_by",
    )
    list_select_related = ("account__instance", "classification", "rule", "changed_by")
    list_filter = (recent_date_filter("changed_at", default="all", title="changed"), "action", "source")
    search_fields = ("^account__username", "=account__instance__name")
    fields = (
        "changed_at",
        "account",
        "classification",
        "action",
        "source",
        "rule",
        "batch_id",
        "session",
        "changed_by",
    )
    readonly_fields = fields
    # newest first by the primary key (there is no index on changed_at alone)
    ordering = ("-id",)

    @admin.display(description="Instance", ordering="account__instance__name")
    def instance(self, obj: AccountClassificationHistory):
        return obj.account.instance

    @admin.display(description="Batch", ordering="batch_id")
    def short_batch(self, obj: AccountClassificationHistory) -> str:
        url = reverse("admin:classification_accountclassificationhistory_changelist") + f"?batch_id={obj.batch_id}"
        return format_html('<a href="{}">{}</a>', url, str(obj.batch_id)[:8])


@admin.register(ClassificationDailyStat)
class ClassificationDailyStatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Accounts per classification per instance per day."""

    list_display = ("date", "classification", "db_type", "instance", "account_count")
    list_select_related = ("classification", "db_type", "instance")
    list_filter = (recent_date_filter("date", default="30"), "classification", "db_type")
    search_fields = ("=instance__name", "classification__name")
    autocomplete_fields = ("instance",)
    fields = ("date", "classification", "db_type", "instance", "account_count")
    readonly_fields = fields
    ordering = ("-date", "classification_id", "instance_id")
    show_facets = admin.ShowFacets.NEVER
    paginator = BigTableAdmin.paginator
    show_full_result_count = False


# --- on the account pages -------------------------------------------------------------


class ClassificationFilter(admin.SimpleListFilter):
    """Accounts currently assigned a classification (by code; the table is small)."""

    title = "classification"
    parameter_name = "classification"

    def lookups(self, request, model_admin):
        return tuple(AccountClassification.objects.order_by("-priority", "name").values_list("code", "name"))

    def queryset(self, request, queryset):
        value = self.value()
        return accounts_with_classification(queryset, codes=[value]) if value else queryset


class ClassificationAssignmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    """Current classifications of the account."""

    model = AccountClassificationAssignment
    fk_name = "account"
    fields = ("classification", "source", "rule", "assigned_by", "assigned_at")
    readonly_fields = fields
    verbose_name_plural = "Classifications"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("classification", "rule", "assigned_by")


account_admin_extend(list_filters=(ClassificationFilter,), inlines=(ClassificationAssignmentInline,))
