"""Orders of steps, pure: graph + options -> Plan. offline.py is the one-transaction order;
common.py holds what every order needs; online.py (with shadows.py) the phased order."""

from .common import closures_for, key_roots, mapping_names, require_runnable
from .offline import plan_conversion

__all__ = ["closures_for", "key_roots", "mapping_names", "plan_conversion", "require_runnable"]
