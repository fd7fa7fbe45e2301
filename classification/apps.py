from django.apps import AppConfig


class ClassificationConfig(AppConfig):
    name = "classification"
    verbose_name = "Classification"

    def ready(self) -> None:
        # classifications on the account API (field, filter, prefetch), before any request
        from classification.api.accounts import register_account_extensions

        register_account_extensions()
