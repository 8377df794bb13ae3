"""The socket protocol between ``calltrail serve``'s web workers and its writer process.

Frames are msgpack arrays, each after its 4-byte length. A worker sends
``[id, kind, params, received_at, fingerprint]``; the writer answers
``[id, verdict, position]``, or ``[id, null, error]`` when it could not record the
callback (``"store"`` when the store is unavailable: the worker answers 503; anything
else 500), and sends ``[0, null, null, size, seconds]`` to every worker after each
committed batch (the writer's metrics). The writer's side is ``store/writer_process.py``,
the workers' ``store/writer_client.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from datetime import datetime

import msgspec

from store.writer import WriterStoppedError

LENGTH = struct.Struct("!I")
"""What comes before each frame: its length."""
STORE_DOWN = "store"
"""The error an answer names when the store is unavailable (the worker answers 503)."""


class Request(msgspec.Struct, array_like=True):
    """A callback a worker sends to be recorded."""

    id: int
    kind: str
    params: dict[str, str]
    received_at: datetime
    fingerprint: str


class Answer(msgspec.Struct, array_like=True):
    """The writer's answer to a callback (``id``), or the stats of a batch (``id`` 0)."""

    id: int
    verdict: str | None
    position: int | str | None  # the log position; when ``verdict`` is None, the error
    size: int = 0
    seconds: float = 0.0


encode = msgspec.msgpack.Encoder().encode
"""A ``Request`` or an ``Answer`` as its frame's payload."""
decode_request = msgspec.msgpack.Decoder(Request).decode
decode_answer = msgspec.msgpack.Decoder(Answer).decode


class WriterUnavailableError(WriterStoppedError):
    """The writer process could not record the callback, or could not be reached (503)."""


def listening_socket(path: str) -> socket.socket:
    """The Unix socket the writer process accepts the workers on, bound at ``path`` (in a
    directory only this user can enter: whoever connects records callbacks unchecked)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(256)
    return sock
