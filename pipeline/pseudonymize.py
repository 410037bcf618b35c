"""Keyed pseudonyms for personal identifiers: equal values still join, raw values never leave.

Values are normalized first, so ``+86 138 1234 5678`` and ``138-1234-5678`` map to the same
pseudonym in every table and every institution that shares the key.
"""

from __future__ import annotations

import hashlib
import hmac

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
    digests = [
        hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32] for value in uniques
    ]
    hashed = pd.array(digests, dtype="string").take(codes, allow_fill=True)
    return pd.Series(hashed, index=values.index)
