"""Credential key rotation: old keys keep decrypting until every password is re-encrypted with
the new one; atomic per credential, resumable, unreadable passwords reported."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from instances import services
from instances.crypto import encrypted_with_primary
from instances.models import Credential
from instances.services import credential_create, credentials_rotate_key
from whalefall.errors import CredentialError

pytestmark = pytest.mark.django_db

OLD, NEW = "old-credential-key-material", "new-credential-key-material"


@pytest.fixture
def under_old_key(settings):
    settings.CREDENTIAL_KEY, settings.CREDENTIAL_OLD_KEYS = OLD, []
    made = [credential_create(name=f"c{n}", username="u", password=f"pw-{n}") for n in range(3)]
    settings.CREDENTIAL_KEY, settings.CREDENTIAL_OLD_KEYS = NEW, [OLD]
    return made


def tokens() -> dict[str, str]:
    return dict(Credential.objects.values_list("name", "password_encrypted"))


def test_old_keys_decrypt_until_the_rotation_and_the_new_key_after_it(settings, under_old_key):
    assert [c.get_password() for c in Credential.objects.order_by("name")] == ["pw-0", "pw-1", "pw-2"]
    assert not any(encrypted_with_primary(t) for t in tokens().values())
    result = credentials_rotate_key()
    assert (sorted(result.rotated), result.current, result.failed) == (["c0", "c1", "c2"], [], [])
    settings.CREDENTIAL_OLD_KEYS = []  # the old key can go now
    assert [c.get_password() for c in Credential.objects.order_by("name")] == ["pw-0", "pw-1", "pw-2"]
    assert all(encrypted_with_primary(t) for t in tokens().values())


def test_a_second_run_changes_nothing(under_old_key):
    credentials_rotate_key()
    before = tokens()
    result = credentials_rotate_key()
    assert (result.rotated, sorted(result.current)) == ([], ["c0", "c1", "c2"])
    assert tokens() == before


def test_an_interrupted_run_is_finished_by_running_it_again(monkeypatch, under_old_key):
    real, calls = services.reencrypt, []

    def fail_on_second(token):
        calls.append(token)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(token)

    monkeypatch.setattr(services, "reencrypt", fail_on_second)
    with pytest.raises(RuntimeError):
        credentials_rotate_key()
    done = [name for name, token in tokens().items() if encrypted_with_primary(token)]
    assert done == ["c0"]  # the first committed on its own; the second rolled back alone
    monkeypatch.setattr(services, "reencrypt", real)
    result = credentials_rotate_key()
    assert (result.current, sorted(result.rotated)) == (["c0"], ["c1", "c2"])


def test_unreadable_passwords_are_reported_and_the_others_rotated(settings, under_old_key, capsys):
    settings.CREDENTIAL_KEY, settings.CREDENTIAL_OLD_KEYS = "a-third-key", [OLD]
    stranger = credential_create(name="stranger", username="u", password="x")
    settings.CREDENTIAL_KEY, settings.CREDENTIAL_OLD_KEYS = NEW, [OLD]  # "a-third-key" is lost
    with pytest.raises(CommandError, match="stranger"):
        call_command("rotate_credentials_key")
    out = capsys.readouterr().out
    assert "rotated  c0" in out and "failed   stranger" in out
    assert "3 re-encrypted, 0 already on the current key, 1 unreadable" in out
    with pytest.raises(CredentialError, match="cannot be decrypted"):
        Credential.objects.get(pk=stranger.pk).get_password()
    assert "pw-" not in out  # no password is ever printed
