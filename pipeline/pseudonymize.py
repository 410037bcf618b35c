"""Keyed pseudonyms for personal identifiers: equal values still join, raw values never leave.

Values are normalized first, so ``+86 138 1234 5678`` and ``138-1234-5678`` map to the same
pseudonym in every table and every institution that shares the key.
"""

from __future__ import annotations

import hashlib

import pandas as pd

KEY_VARIABLE = "BGRISK_PSEUDONYM_KEY"
# Used only for data the simulator wrote: it holds no real person, so a public key is safe.
SIMULATION_KEY = "bgrisk-simulated-data-only"


def normalize_pii(values: pd.Series, column: str) -> pd.Series:
    text = values.astype("string").str.strip()
    if column in {"phone", "contact_phone"}:
        digits = text.str.replace(r"\D", "", regex=True)
        return digits.str.replace(r"^(?:0086|86)(?=1\d{10}$)", "", regex=True)
    if column == "id_number":
        return text.str.upper()
    return text


def pseudonymize(values: pd.Series, column: str, key: bytes) -> pd.Series:
    """HMAC-SHA256 of the normalized value, hashed once per distinct value."""
    normalized = normalize_pii(values, column)
    codes, uniques = pd.factorize(normalized)
    keyed = _keyed_sha256(key)
    digests = [keyed(value.encode("utf-8")) for value in uniques.to_numpy(dtype=object)]
    hashed = pd.array(digests, dtype="string").take(codes, allow_fill=True)
    return pd.Series(hashed, index=values.index)


def _keyed_sha256(key: bytes):
    """HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once, so each
    value costs two hash updates instead of building a new ``hmac`` object."""
    block = 64
    key = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(message: bytes) -> str:
        inner_hash = inner.copy()
        inner_hash.update(message)
        outer_hash = outer.copy()
        outer_hash.update(inner_hash.digest())
        return outer_hash.hexdigest()[:32]

    return digest
