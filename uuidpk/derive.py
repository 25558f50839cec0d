"""New key values: uuid = first 128 bits of sha256(key || root || 0x00 || old value).

The version nibble and the variant nibble are both set to 8 (RFC 9562 version 8, custom
derivation; variant 10xx), leaving 120 bits from the hash. The same function runs inside the
database (rendered by render.py as an inlinable SQL function) and here, for `uuidpk map`.
"""

from __future__ import annotations

import datetime as dt
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


def map_old_id(key: bytes, root: str, text: str, time_ordered: bool) -> uuid.UUID:
    """What `uuidpk map` prints for one old id as the user wrote it. Version 7 alone takes the
    old id as the millisecond count; with --order-by the row's timestamp is written after an
    @ (`42@2024-05-01T10:00:00Z`), as the conversion read it from the root table."""
    value, at, when = text.partition("@")
    if not time_ordered:
        if at:
            raise BadKey(f"{text}: a timestamp only goes with --uuid v7")
        return derive_uuid(key, root, value)
    if not at:
        try:
            return derive_uuid7(key, root, value, int(value))
        except ValueError:
            raise BadKey(f"{text}: with --uuid v7 the old id must be an integer") from None
    try:
        stamp = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise BadKey(f"{text}: write the timestamp as ISO 8601 with a zone") from None
    if stamp.tzinfo is None:
        raise BadKey(f"{text}: the timestamp needs a zone (Z or +hh:mm)")
    # floor(extract(epoch FROM ts) * 1000), as the conversion computes it.
    delta = stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    ms = (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // 1000
    return derive_uuid7(key, root, value, ms)


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
