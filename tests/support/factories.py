"""Plain factory functions for tests and benchmarks (no factory_boy)."""

from __future__ import annotations

import itertools
import secrets

from instances.models import Credential, Instance
from instances.services import credential_create, instance_create

_seq = itertools.count(1)
# unique per process, so factories also work against a long-lived (benchmark) database
_run = secrets.token_hex(3)


def make_credential(**overrides) -> Credential:
    n = next(_seq)
    values = {"name": f"cred-{_run}-{n}", "username": "monitor", "password": "s3cret-pass"}
    values.update(overrides)
    return credential_create(**values)


def make_instance(**overrides) -> Instance:
    n = next(_seq)
    values = {
        "name": f"inst-{_run}-{n}",
        "db_type": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
    }
    if "credential" not in overrides:
        values["credential"] = make_credential()
    values.update(overrides)
    return instance_create(**values)


def make_fake_instance(options: str = "accounts=3", **overrides) -> Instance:
    """An instance of the "fake" engine (tests.support.fake_adapter); ``options``
    go in database_name, e.g. "accounts=100,delay_ms=200" or "fail=target_unreachable"."""
    from instances.models import DatabaseType

    DatabaseType.objects.get_or_create(name="fake", defaults={"display_name": "Fake (tests)", "default_port": 1})
    values = {"db_type": "fake", "host": "fake.invalid", "port": 1, "database_name": options}
    values.update(overrides)
    return make_instance(**values)
