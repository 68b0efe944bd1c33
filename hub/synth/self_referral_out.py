"""Self-referral happenings → the form the hub's self-referral page posts (`POST /intake/self-referral`).

A young person or parent types what they know: names as they use them (a nickname sometimes), date of
birth, postcode, and now and then an NHS number. A mistyped NHS number is refused with the page's own words,
and the generator then sends the corrected form, as the person would after reading the message.
"""

from __future__ import annotations

from hub.synth.events import Happening
from hub.synth.items import Item, Rejection, minutes
from hub.synth.organisations import Organisations

FILE = "self-referral/forms.ndjson"
NHS_TYPO = Rejection("nhs-typo", "nhs_number", "this NHS number does not look right: check it or leave it empty")


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    rejection = NHS_TYPO if h.data.get("error") == "nhs-typo" else None
    kinds = () if rejection else ("self-referral.submitted", "consent.given")
    return [Item("self-referral", FILE, minutes(h.day, h.minute), h.data["form"], kinds, child, "ONESTORY", rejection)]
