"""Deterministic hashing helpers: every simulated value derives from the seed through these."""

from __future__ import annotations

import base64
import hashlib
import random

_MASK64 = (1 << 64) - 1


def h64(*parts: object) -> int:
    """Return a stable 64-bit integer hash of ``parts`` (independent of ``PYTHONHASHSEED``).

    Args:
        *parts: Values joined with ``:`` after ``str()``.

    Returns:
        An unsigned 64-bit integer.
    """
    data = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """Return a stable float in ``[0, 1)`` derived from ``parts``."""
    return (h64(*parts) >> 11) / float(1 << 53)


def rng(*parts: object) -> random.Random:
    """Return a ``random.Random`` seeded from ``parts`` (a derived, independent stream)."""
    return random.Random(h64(*parts))


def token(nbytes: int, *parts: object) -> str:
    """Return a deterministic URL-safe base64 string (no padding) of ``nbytes`` bytes.

    Args:
        nbytes: Number of pseudo-random bytes to encode.
        *parts: Hash inputs.

    Returns:
        The unpadded base64url text (``ceil(nbytes * 4 / 3)`` characters).
    """
    out = b""
    counter = 0
    while len(out) < nbytes:
        out += hashlib.sha256(":".join(str(p) for p in (*parts, counter)).encode()).digest()
        counter += 1
    return base64.urlsafe_b64encode(out[:nbytes]).decode().rstrip("=")


def hexid(nchars: int, *parts: object) -> str:
    """Return ``nchars`` deterministic lowercase hex characters."""
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:nchars]


def uuid_from(*parts: object) -> str:
    """Return a deterministic UUID-4-shaped string (36 characters)."""
    h = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def api_key(*parts: object) -> tuple[str, str]:
    """Return a SendGrid-shaped API key and its id, derived from ``parts``.

    Real keys are 69 characters: ``SG.`` + a 22-character key id + ``.`` + a 43-character
    secret. The id is the part the API lists as ``api_key_id``.

    Returns:
        ``(key, key_id)``.
    """
    key_id = token(16, "key-id", *parts)
    secret = token(32, "key-secret", *parts)
    return f"SG.{key_id}.{secret}", key_id


def mix(i: int, salt: int) -> int:
    """Cheap integer mixer for hot loops (a record index to a table index)."""
    x = (i * 0x9E3779B97F4A7C15 + salt) & _MASK64
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & _MASK64
    return x ^ (x >> 32)
