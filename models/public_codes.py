"""Opaque public codes: the only keys under which a record is shown to people without a login.

A code is random (100 bits from the operating system's generator), never derived from an id or a
count, so knowing one record's code tells nothing about any other. The alphabet leaves out 0/O and
1/I because people also type codes from paper.
"""

from __future__ import annotations

import secrets

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
PUBLIC_CODE_LENGTH = 20
MAX_CODE_LENGTH = 32  # the columns' width; codes issued before were shorter


def new_public_code(length: int = PUBLIC_CODE_LENGTH) -> str:
    """A fresh random code of `length` symbols of CODE_ALPHABET."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def parse_code(code: str) -> str | None:
    """A code as stored, or None when `code` cannot be one (so nothing is looked up).

    People may type a code in lower case or with spaces and dashes between groups.
    """
    key = "".join(ch for ch in code.upper() if ch not in " -")
    if not 0 < len(key) <= MAX_CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in key):
        return None
    return key
