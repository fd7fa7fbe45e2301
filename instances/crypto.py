"""Fernet encryption of credential passwords (key from settings.CREDENTIAL_KEY)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from whalefall.errors import CredentialError


def _fernet() -> Fernet:
    key = settings.CREDENTIAL_KEY
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # Any other string: derive a 32-byte key from it.
        digest = hashlib.sha256(("whalefall-credential:" + key).encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_password(raw: str) -> str:
    return _fernet().encrypt(raw.encode()).decode()


def decrypt_password(token: str, *, credential_name: str) -> str:
    """Return the plaintext; an undecryptable token is a CredentialError, never ''."""
    if not token:
        raise CredentialError(f"Credential {credential_name!r} has no stored password.")
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialError(
            f"Credential {credential_name!r}: the stored password cannot be decrypted with the "
            "current WHALEFALL_CREDENTIAL_KEY/WHALEFALL_SECRET_KEY (was the key changed?). "
            "Set the password again."
        ) from exc
