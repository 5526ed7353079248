"""Leaf-compatible HTTP API (``leafnb serve``); needs the ``server`` extra (FastAPI, uvicorn).

Importing this package is light: ``create_app`` imports FastAPI only when called.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(workspace_path, **kwargs):
    """Build the FastAPI app (see :func:`leafnb.server.app.create_app`)."""
    from leafnb.server.app import create_app as _create_app

    return _create_app(workspace_path, **kwargs)
