"""Fields and field operations: merge, automerge, the operation build from points, sessions."""
