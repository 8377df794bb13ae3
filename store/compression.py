"""Stored event states compressed with zstd and a dictionary trained on calltrail's events.

A state is a few hundred bytes of JSON whose keys and most values (Plivo's parameter
names, statuses, topics, time prefixes) recur in every event: too little for a
compressor to learn from one state, which is what a dictionary gives it. With the
dictionary shipped here (``states-v1.zdict``, trained by ``benchmarks/zstd_dictionary.py``
on simulated traffic) a state takes about a fifth of its JSON.

eventsourcing's mapper calls ``ZstdStates`` (``COMPRESSOR_TOPIC``) on every state it
writes and reads. A state without zstd's frame magic is returned as it is: the states of
a store written before compression (JSON never begins with those bytes) load unchanged,
beside the compressed ones. The frame names its dictionary's id; a dictionary once used
must stay readable (a new one gets a new file and id beside it).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import zstandard
from eventsourcing.persistence import Compressor

TOPIC = "store.compression:ZstdStates"
"""The ``COMPRESSOR_TOPIC`` that selects this compressor."""

MAGIC = b"\x28\xb5\x2f\xfd"  # how every zstd frame begins
DICTIONARY = Path(__file__).with_name("states-v1.zdict")
LEVEL = 3


@functools.cache
def _dictionary() -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(DICTIONARY.read_bytes())


class _PerThread(threading.local):
    """zstandard's (de)compressor objects must not be used by two threads at once."""

    compressor: zstandard.ZstdCompressor | None = None
    decompressor: zstandard.ZstdDecompressor | None = None


_local = _PerThread()


def deflate(data: bytes) -> bytes:
    """``data`` as a zstd frame compressed with the dictionary."""
    compressor = _local.compressor
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=_dictionary(), write_checksum=False
        )
    return compressor.compress(data)


def inflate(data: bytes) -> bytes:
    """A stored state as the JSON it holds: decompressed if it is a zstd frame, else as
    it is (written before compression). ``zstandard.ZstdError`` if the frame is damaged."""
    if data[:4] != MAGIC:
        return data
    decompressor = _local.decompressor
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor(dict_data=_dictionary())
    return decompressor.decompress(data)


def json_of(data: bytes) -> bytes:
    """``inflate``, or ``data`` as it is if it is a damaged frame (whoever reads it then
    finds it is not JSON)."""
    try:
        return inflate(data)
    except zstandard.ZstdError:
        return data


class ZstdStates(Compressor):
    """eventsourcing's compressor interface over ``deflate`` and ``inflate``."""

    def compress(self, data: bytes) -> bytes:
        """Compress a state the mapper encoded."""
        return deflate(data)

    def decompress(self, data: bytes) -> bytes:
        """A stored state's JSON, compressed or not."""
        return inflate(data)
