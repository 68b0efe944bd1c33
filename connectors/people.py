"""The subject of a row-oriented record (social care, VCSE, SSDA903): national ids checked, local ids scoped. Pure."""

from __future__ import annotations

from connectors.canonical import local_id_system, make_subject, nhs_identifier, upn_identifier
from connectors.tabular import Row, RowError
from hub.events.model import Identifier, Subject

UPN_UNKNOWN = frozenset({"UN1", "UN2", "UN3", "UN4", "UN5"})
SEX_CODES = {"1": "male", "2": "female", "M": "male", "F": "female", "U": "unknown"}


def row_subject(row: Row, organisation: str, scope: str, local_columns: tuple[str, ...]) -> Subject:
    """Local id (scoped by the issuing organisation), then NHS number and UPN; an invalid national id is an error.

    A wrong NHS number or UPN is reported rather than silently carried, because a school or council that sends
    one wants to know, and the row can be fixed and replayed.
    """
    ids: list[Identifier] = []
    local = row.get(*local_columns)
    if local:
        ids.append({"system": local_id_system(organisation, scope), "value": local, "validated": True})
    nhs = row.get("nhs_number", "NHS Number")
    if nhs:
        ident = nhs_identifier(nhs)
        if not ident["validated"]:
            raise RowError("NHS number fails its check digit", row.at("nhs_number"))
        ids.append(ident)
    upn = row.get("upn")
    if upn and upn.upper() not in UPN_UNKNOWN:
        ident = upn_identifier(upn)
        if not ident["validated"]:
            raise RowError("UPN fails its check letter", row.at("upn"))
        ids.append(ident)
    if not ids:
        raise RowError(
            f"no identifier for the child (give {local_columns[0]}, nhs_number or upn)", row.at(local_columns[0])
        )
    sex = row.get("sex", "gender")
    return make_subject(
        ids,
        given_name=row.get("given_name", "forename"),
        family_name=row.get("family_name", "surname"),
        birth_date=row.date("birth_date", "dob"),
        sex=SEX_CODES.get((sex or "").upper(), sex),
        postcode=row.get("postcode", "home_post"),
        location=row.where,
    )
