"""Identifiers as integer codes while the world is generated, strings only when written.

A code is ``prefix index * STRIDE + number``. Integers sort, compare and index fast and take
8 bytes; formatting happens once per column, in Arrow, when a table is written.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Every kind of identifier the simulator writes, by its prefix.
PREFIXES = (
    "A",  # bank account
    "N",  # insurer account
    "I",  # intermediary
    "T",  # transaction
    "L",  # loan
    "PL",  # policy
    "CP",  # complaint
    "CE",  # collection event
    "D",  # customer device
    "DX",  # customer's extra device
    "DK",  # shop or kiosk terminal
    "DG",  # gang device
    "DB",  # broker device
    "DO",  # broker office tablet
    "X",  # outside merchant or person
    "P",  # outside payer
    "C",  # gang cash-out party
    "Y",  # broker's onward party
    "S",  # supplier
    "E",  # outside employer
    "F",  # payroll funder
    "XI",  # the insurer's refund account
    "MG",  # mule gang
    "LB",  # loan broker gang
    "SA",  # surrender agent gang
    "DR",  # debt-relief gang
    "IC",  # improper collector gang
)
STRIDE = 10**12
DIGITS = 9
NO_ID = -1
_INDEX = {prefix: i for i, prefix in enumerate(PREFIXES)}


def code(prefix: str, numbers) -> np.ndarray:
    return _INDEX[prefix] * STRIDE + np.asarray(numbers, dtype=np.int64)


def to_strings(codes) -> pa.Array:
    """``A000000042``-style strings; ``NO_ID`` becomes null."""
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes == NO_ID
    safe = np.where(missing, 0, codes)
    prefix = pc.take(pa.array(PREFIXES), pa.array(safe // STRIDE))
    number = pc.utf8_lpad(pc.cast(pa.array(safe % STRIDE), pa.string()), DIGITS, "0")
    strings = pc.binary_join_element_wise(prefix, number, "")
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), strings)
