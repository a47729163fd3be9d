"""Client tokens: made once, stored as a hash, found by a short prefix."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX_LENGTH = 12
_SCHEME = "spo_"


def token_generate() -> tuple[str, str, str]:
    """Return (token, prefix, hash) for a new client token."""
    token = _SCHEME + secrets.token_urlsafe(32)
    return token, token_prefix(token), token_hash(token)


def token_prefix(token: str) -> str:
    return token[len(_SCHEME):len(_SCHEME) + TOKEN_PREFIX_LENGTH]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
