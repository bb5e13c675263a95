"""Stable document ids: the same input always gives the same id."""

from __future__ import annotations

import hashlib
import os


def derived_id(path: str, position: int) -> str:
    """An id for a record that carries none: a hash of the file's base name and the record's position in it.

    The base name (not the full path) is used so that moving a crawl to another folder or bucket keeps its ids."""
    name = os.path.basename(path.rstrip("/"))
    return hashlib.sha1(f"{name}:{position}".encode()).hexdigest()[:24]
