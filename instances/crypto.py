"""Fernet encryption of credential passwords.

The primary key is ``settings.CREDENTIAL_KEY`` (new passwords are encrypted with it); the keys in
``settings.CREDENTIAL_OLD_KEYS`` still decrypt (MultiFernet), so after a key change every stored
password keeps working until ``manage.py rotate_credentials_key`` has re-encrypted it with the
primary key. Any string is accepted as key material: one that is not a Fernet key is hashed
into one.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from whalefall.errors import CredentialError


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        digest = hashlib.sha256(("whalefall-credential:" + key).encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def _primary() -> Fernet:
    return _fernet(settings.CREDENTIAL_KEY)


def _all_keys() -> MultiFernet:
    return MultiFernet([_primary(), *(_fernet(key) for key in getattr(settings, "CREDENTIAL_OLD_KEYS", ()))])


def encrypt_password(raw: str) -> str:
    return _primary().encrypt(raw.encode()).decode()


def decrypt_password(token: str, *, credential_name: str) -> str:
    """Return the plaintext; an undecryptable token is a CredentialError, never ''."""
    if not token:
        raise CredentialError(f"Credential {credential_name!r} has no stored password.")
    try:
        return _all_keys().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialError(
            f"Credential {credential_name!r}: the stored password cannot be decrypted with "
            "WHALEFALL_CREDENTIAL_KEY (or WHALEFALL_SECRET_KEY it defaults to) nor any of "
            "WHALEFALL_CREDENTIAL_OLD_KEYS (was the key changed?). Set the password again."
        ) from exc


def encrypted_with_primary(token: str) -> bool:
    """Whether ``token`` already decrypts with the primary key (nothing to rotate)."""
    try:
        _primary().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """``token`` encrypted with the primary key (InvalidToken when no configured key opens it)."""
    return _all_keys().rotate(token.encode()).decode()
