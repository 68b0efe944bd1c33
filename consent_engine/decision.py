"""The result of a consent decision and the two ways of telling people about it.

Practitioners get a message that depends only on the level (and, for a flag, whom to contact): nothing in it
can hint at what is hidden or why. IG officers get the full derivation, step by step, with the rule ids, the
consent record or lawful basis used and the policy hash, so that any disclosure can be justified afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from consent_engine.model import Contact, Level

Step = tuple[str, str]
"""One step of a derivation: (rule id, what it established)."""

OWN_BASIS = "own-organisation"
"""The basis of a decision that shows an organisation its own entry."""
OWN_STEP: Step = (OWN_BASIS, "the viewer's organisation recorded this entry")
NO_RELATIONSHIP: Step = (
    "no-legitimate-relationship",
    "the viewer has no current legitimate relationship with the child",
)
NO_BASIS: Step = ("no-basis", "no consent record or lawful basis permits sharing this entry with the viewer")

_MESSAGES: dict[Level, str] = {
    Level.FULL: "Shown in full.",
    Level.SUMMARY: "A summary is shown. For more, contact the recording organisation.",
    Level.FLAG: "A record exists. Contact the recording organisation.",
    Level.NONE: "No information is available to you.",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """What a viewer may see of one entry, and why.

    `matched_rules` are the ids of the rules that applied, in evaluation order; `basis` is
    "consent:<record id>", "lawful-basis:<code>" or "own-organisation" whenever the level is above NONE,
    and None otherwise; `policy_version` is the sha256 of the canonical policy; `contact` is set for FLAG;
    `alert` is True whenever break-glass was declared, so that IG review every use of it.
    """

    level: Level
    basis: str | None
    policy_version: str
    derivation: tuple[Step, ...]
    contact: Contact | None = None
    alert: bool = False

    @property
    def matched_rules(self) -> tuple[str, ...]:
        """The rule ids of the derivation, in order (derived, so the two can never disagree)."""
        return tuple([rule for rule, _ in self.derivation])

    @property
    def practitioner_message(self) -> str:
        """A generic message: the same for every hidden entry, whatever the reason it is hidden."""
        if self.level is Level.FLAG and self.contact is not None:
            return f"A record exists. Contact {self.contact.name}: {self.contact.text}."
        return _MESSAGES[self.level]

    @property
    def explanation(self) -> str:
        """The full derivation for IG officers: never show this to practitioners."""
        lines = [
            f"level: {self.level.value}",
            f"basis: {self.basis or '-'}",
            f"policy sha256: {self.policy_version}",
            f"alert: {'yes (break-glass declared)' if self.alert else 'no'}",
        ]
        if self.contact is not None:
            lines.append(f"contact: {self.contact.name} ({self.contact.organisation}): {self.contact.text}")
        lines.append("derivation:")
        lines.extend(f"  {n}. [{rule}] {text}" for n, (rule, text) in enumerate(self.derivation, 1))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view for audit records and the CLI."""
        return {
            "level": self.level.value,
            "matched_rules": list(self.matched_rules),
            "basis": self.basis,
            "policy_version": self.policy_version,
            "derivation": [{"rule": rule, "detail": text} for rule, text in self.derivation],
            "contact": None
            if self.contact is None
            else {"organisation": self.contact.organisation, "name": self.contact.name, "text": self.contact.text},
            "alert": self.alert,
            "practitioner_message": self.practitioner_message,
        }


_new = object.__new__
_SETTERS = tuple(
    Decision.__dict__[name].__set__ for name in ("level", "basis", "policy_version", "derivation", "contact", "alert")
)
_SET_LEVEL, _SET_BASIS, _SET_VERSION, _SET_DERIVATION, _SET_CONTACT, _SET_ALERT = _SETTERS


def make_decision(
    level: Level,
    basis: str | None,
    policy_version: str,
    derivation: tuple[Step, ...],
    contact: Contact | None,
    alert: bool,
) -> Decision:
    """Build a Decision without the frozen-dataclass __init__, which alone costs a third of a decision.

    Equivalent to `Decision(level, basis, policy_version, derivation, contact, alert)`; a test checks that.
    """
    decision = _new(Decision)
    _SET_LEVEL(decision, level)
    _SET_BASIS(decision, basis)
    _SET_VERSION(decision, policy_version)
    _SET_DERIVATION(decision, derivation)
    _SET_CONTACT(decision, contact)
    _SET_ALERT(decision, alert)
    return decision
