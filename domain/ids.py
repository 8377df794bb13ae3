"""Aggregate identity: one call aggregate per Plivo ``CallUUID``."""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed forever: changing it would orphan every stored call.
CALL_NAMESPACE = UUID("6f1f0c3e-6a43-5b1e-9d7a-0c7a11c7a11c")


def call_id(call_uuid: str) -> UUID:
    """The aggregate id of the call Plivo names ``call_uuid`` (uuid5, stable across instances)."""
    return uuid5(CALL_NAMESPACE, call_uuid.strip())
