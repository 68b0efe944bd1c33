"""Avro single-object encoding of outbound feed records (schemas/avro/onestory.out.FeedRecord.avsc).

The same wire format as the event codec (C3 01 + CRC-64-AVRO fingerprint + body), with its own history
snapshots (schemas/avro/history/onestory.out.FeedRecord.v*.avsc), so an agency decoding with an older
schema keeps working when fields are added.
"""

from __future__ import annotations

from pathlib import Path

from hub.events.record_codec import RecordCodec

FEED_RECORD = "onestory.out.FeedRecord"


class FeedCodec(RecordCodec):
    @classmethod
    def load(cls, schema_dir: Path | None = None) -> FeedCodec:
        return cls.named(FEED_RECORD, schema_dir)
