from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # the account actions on /api/v1/instances/<id>/, before any URL conf is built
        from accounts.api.views import register_instance_actions

        register_instance_actions()
