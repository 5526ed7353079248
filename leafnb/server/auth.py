"""The server's tokens and owners: :class:`~leafnb.store.server_state.ServerStore`.

The SQL lives in :mod:`leafnb.store.server_state` (every SQL statement is in ``store/``);
this module keeps the server's import path (``from leafnb.server.auth import ServerStore``).
"""

from leafnb.errors import OwnerConflict, TokenError
from leafnb.store.server_state import ServerStore

__all__ = ["OwnerConflict", "ServerStore", "TokenError"]
