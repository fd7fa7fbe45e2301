"""Re-encrypt every credential password with the primary key after a key change."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.context import audit_actor
from instances.services import credentials_rotate_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential password with WHALEFALL_CREDENTIAL_KEY. First set "
        "WHALEFALL_CREDENTIAL_KEY to the new key and WHALEFALL_CREDENTIAL_OLD_KEYS to the old one(s) "
        "(comma-separated): both decrypt meanwhile, so nothing stops working. One transaction per "
        "credential; passwords already on the new key are skipped, so an interrupted run is finished by "
        "running it again. Then remove the old keys. Exits non-zero when a password no key opens remains."
    )

    def handle(self, *args, **options):
        if not settings.CREDENTIAL_OLD_KEYS:
            self.stdout.write(
                "WHALEFALL_CREDENTIAL_OLD_KEYS is empty: only passwords already on the current key can be "
                "read, so there is nothing to rotate from; checking them."
            )

        def progress(name: str, outcome: str) -> None:
            self.stdout.write(f"{outcome:<8} {name}")

        with audit_actor():  # each credential's outcome is audited, attributed to the OS user
            result = credentials_rotate_key(progress=progress)
        self.stdout.write(
            f"{len(result.rotated)} re-encrypted, {len(result.current)} already on the current key, "
            f"{len(result.failed)} unreadable"
        )
        if result.failed:
            raise CommandError(
                f"No configured key opens the password of {', '.join(result.failed)}: add the key they were "
                "encrypted with to WHALEFALL_CREDENTIAL_OLD_KEYS and run again, or set those passwords again."
            )
