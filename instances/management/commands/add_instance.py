"""Register an instance from a script. The password never comes from argv."""

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from instances.models import Credential, Instance
from instances.services import credential_create, instance_create


class Command(BaseCommand):
    help = (
        "Register a monitored instance and its credential. The password is read from the "
        "environment variable named by --password-env, or prompted for; it is never accepted on the command line."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # no prefix matching: "--password SECRET" must be an error, not "--password-env SECRET"
        return super().create_parser(prog_name, subcommand, allow_abbrev=False, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--db-type", required=True, help="mysql, postgresql, sqlserver or oracle")
        parser.add_argument("--host", required=True)
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--username", required=True, help="Login of the monitoring account.")
        parser.add_argument("--password-env", metavar="VAR", help="Environment variable holding the password.")
        parser.add_argument("--no-password", action="store_true", help="The login needs no password (trust auth).")
        parser.add_argument("--credential-name", help="Name of the credential to create (default: <name>).")
        parser.add_argument("--database", default="", help="Default database / Oracle service name.")
        parser.add_argument("--environment", default="production")
        parser.add_argument("--tag", action="append", default=[], help="Tag name; repeat for several.")
        parser.add_argument("--description", default="")

    def _password(self, options) -> str:
        if options["no_password"]:
            return ""
        var = options["password_env"]
        if var:
            if var not in os.environ:
                raise CommandError(f"Environment variable {var} is not set.")
            return os.environ[var]
        if not sys.stdin.isatty():
            raise CommandError("No --password-env given and no terminal to prompt on; use --password-env VAR.")
        return getpass.getpass(f"Password for {options['username']}: ")

    def handle(self, *args, **options):
        if Instance.objects.filter(name=options["name"]).exists():
            raise CommandError(f"An instance named {options['name']!r} already exists.")
        credential_name = options["credential_name"] or options["name"]
        if Credential.objects.filter(name=credential_name).exists():
            raise CommandError(f"A credential named {credential_name!r} already exists; pass --credential-name.")
        password = self._password(options)
        try:
            with transaction.atomic(durable=True):
                credential = credential_create(
                    name=credential_name, username=options["username"], password=password
                )
                instance = instance_create(
                    name=options["name"],
                    db_type=options["db_type"],
                    host=options["host"],
                    port=options["port"],
                    database_name=options["database"],
                    environment=options["environment"],
                    description=options["description"],
                    credential=credential,
                    tags=options["tag"],
                )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"Invalid instance: {problems}") from exc
        self.stdout.write(self.style.SUCCESS(f"registered instance {instance.name} (id {instance.pk})"))
