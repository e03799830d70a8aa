"""This installation's Ed25519 key, public-key fingerprints and the canonical JSON that is signed.

Canonical JSON (docs/record-package.md): keys sorted, no spaces (`,` and `:` as separators),
non-ASCII characters as themselves, UTF-8. Numbers in a package are integers only.
"""

import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils.translation import gettext as _

from ..services import LedgerError


class SigningKeyMissing(LedgerError):
    """The installation has no signing key (or an unreadable one)."""


def canonical_json(document: object) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signing_key_generate(*, path: Path, force: bool = False) -> Ed25519PrivateKey:
    """Write a new private key to `path` (readable by its owner only); never overwrites unless
    `force`."""
    if path.exists() and not force:
        raise FileExistsError(str(path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(pem)
    return key


def signing_key() -> Ed25519PrivateKey:
    """The key of PORTAL_SIGNING_KEY_FILE."""
    path = Path(settings.PORTAL_SIGNING_KEY_FILE)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        raise SigningKeyMissing(
            _(
                "This installation has no signing key yet: the operator runs "
                "`manage.py signing_key_generate` (PORTAL_SIGNING_KEY_FILE)."
            ),
            code="no_signing_key",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyMissing(_("The signing key is not an Ed25519 key."), code="no_signing_key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_from_pem(text: str) -> Ed25519PublicKey:
    """A public key from its PEM text; ValueError when it is not an Ed25519 public key."""
    try:
        key = serialization.load_pem_public_key(text.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as error:
        raise ValueError(str(error)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: how a package names its signer."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signature_valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
