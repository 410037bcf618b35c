"""Realistic-looking raw personal identifiers, so pseudonymization has real work to do."""

from __future__ import annotations

import numpy as np
import pandas as pd

_MOBILE_PREFIXES = np.array(["130", "131", "135", "136", "138", "139", "150", "158", "186", "199"])
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


def mobile_numbers(rng: np.random.Generator, n: int) -> pd.Series:
    """Eleven-digit mainland mobile numbers, digits only (the canonical form)."""
    prefix = rng.choice(_MOBILE_PREFIXES, size=n)
    rest = pd.Series(rng.integers(0, 10**8, size=n)).astype(str).str.zfill(8)
    return pd.Series(prefix) + rest


def format_phones(rng: np.random.Generator, digits: pd.Series) -> pd.Series:
    """Write the same numbers the ways exports do: bare, +86 with spaces, or dashed."""
    style = rng.integers(0, 3, size=len(digits))
    spaced = "+86 " + digits.str[:3] + " " + digits.str[3:7] + " " + digits.str[7:]
    dashed = digits.str[:3] + "-" + digits.str[3:7] + "-" + digits.str[7:]
    return pd.Series(np.select([style == 0, style == 1], [digits, spaced], dashed), dtype=object)


def id_numbers(
    rng: np.random.Generator, birth_year: np.ndarray, region_code: np.ndarray
) -> pd.Series:
    """18-character resident identity numbers with a valid ISO 7064 check character."""
    n = len(birth_year)
    month = rng.integers(1, 13, size=n)
    day = rng.integers(1, 29, size=n)
    serial = rng.integers(0, 1000, size=n)
    body = (
        pd.Series(region_code).astype(str)
        + pd.Series(birth_year).astype(str)
        + pd.Series(month).astype(str).str.zfill(2)
        + pd.Series(day).astype(str).str.zfill(2)
        + pd.Series(serial).astype(str).str.zfill(3)
    )
    digits = np.frombuffer("".join(body).encode("ascii"), dtype=np.uint8).reshape(n, 17) - 48
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return body + check


def ip_addresses(rng: np.random.Generator, n: int) -> pd.Series:
    octets = rng.integers(1, 255, size=(n, 4))
    first = rng.choice(np.array([36, 58, 106, 114, 116, 120, 183, 223]), size=n)
    return (
        pd.Series(first).astype(str)
        + "."
        + pd.Series(octets[:, 1]).astype(str)
        + "."
        + pd.Series(octets[:, 2]).astype(str)
        + "."
        + pd.Series(octets[:, 3]).astype(str)
    )
