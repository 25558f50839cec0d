"""uuidpk: convert PostgreSQL integer primary keys to UUIDs, in place, with every relation."""

from .derive import derive_uuid

__version__ = "0.1.0"
__all__ = ["__version__", "derive_uuid"]
