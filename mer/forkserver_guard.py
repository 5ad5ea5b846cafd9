"""Imported first by a fork server that :func:`mer.pool.process_pool` starts from a main thread, and nowhere
else: the import itself has the fork server killed when that thread's process ends (``PR_SET_PDEATHSIG``), so
that a pool's fork server never outlives its owner, even one killed with SIGKILL.

The owner names itself in ``$MER_POOL_OWNER``; a fork server whose parent is already someone else (the owner died
while it started) exits at once.
"""

from __future__ import annotations

import os

from .pool import OWNER_ENV, die_with_parent

_owner = os.environ.get(OWNER_ENV, "")
die_with_parent(int(_owner) if _owner.isdigit() else None)
