"""A data steward reads the identity review queue: the pairs with both children's records, audited first.

The queue shows personal data from two children's records side by side, so the read is on the access log in the
same transaction, before the items are returned to the API route or the command line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit import log as audit
from projections.identity.review import Steward, list_reviews


def review_queue(
    conn: Connection, steward: Steward, now: datetime, status: str = "open", limit: int = 50, with_records: bool = True
) -> list[dict[str, Any]]:
    items = list_reviews(conn, status=status, limit=limit, with_records=with_records)
    audit.append(
        conn,
        audit.AuditRecord(
            action="read",
            outcome="success",
            user_id=steward.user,
            organisation=steward.organisation,
            role=steward.role,
            purpose=steward.purpose,
            child_id=None,
            query=f"identity-review status={status}",
            entries=[{"id": i["id"], "level": "full" if with_records else "flag"} for i in items],
            client_address=steward.client_address,
        ),
        now,
    )
    return items
