"""Writing the hub's child id into an encoded intake event without encoding it again: the identity step's
fast path, kept behind the codec boundary with the codec it must agree with."""

from __future__ import annotations

from typing import Any, cast

from hub.events.record_codec import zigzag

# The envelope's first fields, which ChildIdWriter steps over in the encoded bytes.
_LEADING_FIELDS = [("event_id", "string"), ("kind", "string"), ("category", "string"), ("child_id", ["null", "string"])]
_HEADER = 10  # single-object encoding: C3 01 marker and the 8-byte schema fingerprint


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Avro int/long) at pos: (value, position after it)."""
    shift = acc = 0
    while True:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if b < 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7


class ChildIdWriter:
    """Re-encodes a resolved intake event by writing its child id into the record's own bytes.

    Encoding the whole event again with the codec (fastavro) was a third of the identity step's CPU, and
    only `child_id` changes: Avro binary has no field tags or offsets, so the bytes before the field and
    after it stay exactly as the codec writes them. Used only for records written with the current schema
    (its first fields checked here once); any other writer's records are encoded again by the codec, which
    also resolves them to the current schema. The result equals `codec.encode(event)` for every record the
    codec wrote (tests/unit/identity/test_child_id_writer.py); a foreign writer's record in another valid
    encoding of the same values (arrays in several blocks, say) keeps that encoding, which reads the same.
    """

    def __init__(self, codec: Any) -> None:
        self.codec = codec
        fields = [(f["name"], f["type"]) for f in codec.reader["fields"][: len(_LEADING_FIELDS)]]
        self.fingerprint: bytes | None = codec.reader_fingerprint if fields == _LEADING_FIELDS else None
        self._fields: dict[str, bytes] = {}  # child id -> its encoded field (a batch has few children)

    def encode(self, data: bytes, event: dict[str, Any], child_id: str) -> bytes:
        """The events-topic value for `event` (decoded from `data`) with `child_id` set (in `event` too)."""
        event["child_id"] = child_id
        if data[2:_HEADER] != self.fingerprint:
            return cast(bytes, self.codec.encode(event))
        pos = _HEADER
        for _ in range(3):  # event_id, kind, category: lengths under 64 bytes are one byte
            b = data[pos]
            if b < 0x80:
                pos += 1 + ((b >> 1) ^ -(b & 1))
            else:
                size, pos = _varint(data, pos)
                pos += size
        branch, end = _varint(data, pos)
        if branch == 1:  # a child id already given: replaced
            size, end = _varint(data, end)
            end += size
        field = self._fields.get(child_id)
        if field is None:
            value = child_id.encode()
            field = self._fields[child_id] = b"\x02" + zigzag(len(value)) + value
        return data[:pos] + field + data[end:]
