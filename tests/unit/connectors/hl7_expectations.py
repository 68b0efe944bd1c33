"""What the hub answers to each real sample (file name → ACK code and, for rejections, the ERR location).

Shared by the pure unit tests and the MLLP integration test, so both transports are held to the same table.
"""

from __future__ import annotations

ACCEPTED_KINDS: dict[str, str] = {
    "msft_ADT_A01_v2.3_bom.hl7": "encounter.started",
    "msft_ADT_A05_v2.8.hl7": "appointment.booked",
    "msft_ADT_A28_v2.8.hl7": "person.registered",
    "msft_ADT_A31_v2.8.hl7": "person.updated",
    "msft_ADT_A40_v2.8_merge.hl7": "patient.merged",
    "msft_REF_I12_v2.8_referral.hl7": "referral.made",
    "pipehat_ADT_A01_v2.5_escape.hl7": "encounter.started",
    "pipehat_ADT_A04_v2.4.hl7": "encounter.started",
    "simhospital_ADT_A01_v2.3_nhsnmbr.hl7": "encounter.started",
    "uclh-emap_ADT_A01_v2.4.hl7": "encounter.started",
    "uclh-emap_ADT_A02_v2.4.hl7": "encounter.transferred",
    "uclh-emap_ADT_A03_v2.4_zsegment.hl7": "encounter.ended",
    "uclh-emap_ADT_A04_v2.4.hl7": "encounter.started",
    "uclh-emap_ADT_A08_v2.4.hl7": "person.updated",
    "uclh-emap_ADT_A11_v2.4.hl7": "entry.entered-in-error",
    "uclh-emap_ADT_A13_v2.4.hl7": "entry.entered-in-error",
    "uclh-emap_ADT_A40_v2.4_merge.hl7": "patient.merged",
    "hapi_ADT_A24_v2.4_nonstandard_delimiters.hl7": "patient.linked",
    "hl7-v2tofhir_MDM_T02_v2.5.1_formatting_escapes.hl7": "letter.received",
}
# Refused as out of scope for the story: AR, ERR at `location`, the reason saying why (mapping.yaml out_of_scope).
OUT_OF_SCOPE: dict[str, tuple[str, str]] = {
    "nwgmsa-alderhey_ORM_O01_v2.3_paediatric.hl7": ("OBR-4", "orders (laboratory, genetics, imaging) are not shared"),
    "nwgmsa-mft_ORU_R01_v2.5.1_nhs_nh.hl7": ("OBX-3", "general results"),
    "pipehat_ORU_R01_v2.3_zsegment_escape.hl7": ("OBX-3", "general results"),
    "pipehat_ORU_R01_v2.5.1.hl7": ("OBX-3", "general results"),
    "simhospital_ORU_R01_v2.3_nhsnmbr.hl7": ("OBX-3", "general results"),
    "uclh-emap_ADT_A15_v2.4_zsegment_escape.hl7": ("MSH-9", "a pending transfer is a bed-management step"),
    "uclh-emap_ORU_R01_v2.3_winpath_escape.hl7": ("OBX-3", "general results"),
}
