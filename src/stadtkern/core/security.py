"""Password hashing (argon2), one-time tokens, keyed hashes and TOTP."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
TOTP_ISSUER = "Stadtkern"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so that unknown accounts cannot be told apart.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """A URL-safe random token for one-time links (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are stored only as SHA-256: they are random, so a fast hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret_key: str, value: str, purpose: str) -> str:
    """HMAC-SHA256 of a value for one purpose (pseudonyms, throttling keys)."""
    key = hashlib.sha256(f"{purpose}:{secret_key}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def one_time_password(length: int = 16) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def verify_totp(secret: str, code: str, at: float) -> bool:
    return totp_step(secret, code, at) is not None


def totp_step(secret: str, code: str, at: float) -> int | None:
    """The 30-second time step whose code matches (one step of clock drift allowed), else None."""
    cleaned = code.replace(" ", "").strip()
    if not cleaned.isdigit() or len(cleaned) != 6:
        return None
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        moment = at + drift * totp.interval
        if hmac.compare_digest(totp.at(moment), cleaned):
            return int(moment // totp.interval)
    return None


def totp_now(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)
