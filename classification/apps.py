from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    name = "classification"
    verbose_name = "Classification"

    def ready(self) -> None:
        # classifications on the account API (field, filter, prefetch), before any request
        from accounts.services import account_sync_followup_register
        from classification.api.accounts import register_account_extensions
        from classification.services import classification_after_account_sync

        register_account_extensions()
        account_sync_followup_register(classification_after_account_sync)
