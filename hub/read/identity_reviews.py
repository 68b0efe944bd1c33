"""A data steward reads the identity review queue: the pairs with both children's records, audited first.

The queue shows personal data from two children's records side by side, so the read is on the access log in the
same transaction, before the items are returned to the API route or the command line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from projections.identity.review import Steward, audit_steward, list_reviews


def review_queue(
    conn: Connection, steward: Steward, now: datetime, status: str = "open", limit: int = 50, with_records: bool = True
) -> list[dict[str, Any]]:
    items = list_reviews(conn, status=status, limit=limit, with_records=with_records)
    level = "full" if with_records else "flag"
    entries = [{"id": i["id"], "level": level} for i in items]
    audit_steward(conn, steward, "read", None, f"identity-review status={status}", entries, now)
    return items
