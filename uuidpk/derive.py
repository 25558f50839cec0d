"""New key values: uuid = first 128 bits of sha256(key || root || 0x00 || old value).

The version nibble and the variant nibble are both set to 8 (RFC 9562 version 8, custom
derivation; variant 10xx), leaving 120 bits from the hash. The same function runs inside the
database (rendered by render.py as an inlinable SQL function) and here, for `uuidpk map`.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from .errors import BadKey

KEY_BYTES = 32
MIN_KEY_BYTES = 16
_HEX = re.compile(r"\A(?:\\x)?([0-9a-fA-F]+)\Z")


def derive_uuid(key: bytes, root: str, value: int | str) -> uuid.UUID:
    """The UUID that value of the key rooted at table `root` ("schema.table") becomes."""
    digest = hashlib.sha256(key + root.encode() + b"\x00" + str(value).encode()).hexdigest()
    return uuid.UUID(digest[:12] + "8" + digest[13:16] + "8" + digest[17:32])


def derive_uuid7(key: bytes, root: str, value: int | str, ms: int) -> uuid.UUID:
    """The time-ordered variant: 48 bits of milliseconds, version 7, then the keyed hash.
    ms is the row's timestamp in milliseconds, or the old id itself (`--uuid v7` alone)."""
    digest = derive_uuid(key, root, value).hex
    # The low 48 bits, as the database's int8send(ms) bytes 3-8 (two's complement).
    return uuid.UUID(f"{ms & 0xFFFF_FFFF_FFFF:012x}" + "7" + digest[13:])


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def parse_key(text: str) -> bytes:
    """A key written as hex (optionally \\x-prefixed), at least 16 bytes."""
    match = _HEX.match(text.strip())
    if not match or len(match.group(1)) % 2:
        raise BadKey("the key must be written in hexadecimal, e.g. from `uuidpk keygen`")
    key = bytes.fromhex(match.group(1))
    if len(key) < MIN_KEY_BYTES:
        raise BadKey(f"the key is {len(key)} bytes; use at least {MIN_KEY_BYTES}")
    return key


def read_key(key_file: str | None, env: dict[str, str] | None = None) -> bytes | None:
    """The kept key from --key-file or UUIDPK_KEY, or None for a fresh random one."""
    env = dict(os.environ) if env is None else env
    if key_file:
        try:
            return parse_key(Path(key_file).read_text(encoding="ascii", errors="replace"))
        except OSError as exc:
            raise BadKey(f"cannot read key file {key_file}: {exc.strerror}") from None
    if env.get("UUIDPK_KEY"):
        return parse_key(env["UUIDPK_KEY"])
    return None
