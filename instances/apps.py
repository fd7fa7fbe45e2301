from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "instances"
    verbose_name = "Instances"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from audit.middleware import audit_view_register
        from instances import checks  # noqa: F401  (registers the adapter system check)
        from instances.models import Credential, Instance
        from instances.scopes import instances_visible_to
        from instances.services import credential_deleted_audit
        from whalefall.scoping import visibility_register

        visibility_register(visible=instances_visible_to, instance_model=Instance)

        # every read of a credential page or endpoint is audited (the password is never shown, the
        # login name and where it is used are), and every deletion, whichever path deletes it
        audit_view_register(
            "admin:instances_credential_changelist", "admin:instances_credential_change",
            "instances:credential-list", "instances:credential-detail",
            read_action="instances.credential.view",
        )  # fmt: skip
        post_delete.connect(credential_deleted_audit, sender=Credential, dispatch_uid="credential_deleted_audit")
