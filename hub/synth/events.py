"""What happens to one synthetic child over the window, agency by agency. Pure, deterministic by seed.

A child's story depends only on the seed, the child and the records agencies hold about them (records.py),
never on other children, so it can be generated in any order. An agency only takes part if it holds a record:
a CAMHS journey needs a CAMHS record, hospital attendances an acute record, a child-in-need plan a council
record. Rates are per child per year of the window and are documented in docs/synth.md (the manifest of a
run gives the resulting counts).

The story is format-free: the *_out modules turn each happening into the sending agency's own format, with
that agency's view of the child (the record, with its typos and nicknames).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hub.synth import identifiers
from hub.synth.population import Child, Population
from hub.synth.records import SourceRecord
from hub.synth.reference import Reference

# Per child per year (Poisson means) or shares; see docs/synth.md.
CAMHS_REFERRAL_PER_YEAR = 0.4  # of children holding a CAMHS record: referred in the window (else known before)
CAMHS_ACCEPTED = 0.75
PASTORAL_PER_YEAR = 0.3
SAFEGUARDING_PER_YEAR = 0.04
SUSPENSION_PER_YEAR = 0.02
SEN_CHANGE_PER_YEAR = 0.03
AE_PER_YEAR = 0.8
ADMITTED = 0.1
OUTPATIENT = 0.15
REGISTERED_IN_ERROR = 0.02
CONSENT_WITHDRAWN = 0.12
VCSE_CONSENT = 0.85
SELF_REFERRAL_NHS_GIVEN = 0.2
SELF_REFERRAL_NHS_MISTYPED = 0.1
REFERRERS = {"gp": 0.4, "school": 0.25, "self": 0.15, "acute": 0.1, "vcse": 0.1}

THRIVE = (
    ("getting-advice", 0.2),
    ("getting-help", 0.55),
    ("getting-more-help", 0.2),
    ("getting-risk-support", 0.05),
)
REASONS = (  # SNOMED CT codes for the reason for referral
    ("35489007", "Depressive disorder"),
    ("197480006", "Anxiety disorder"),
    ("248062006", "Self-injurious behaviour"),
    ("72366004", "Eating disorder"),
    ("406506008", "Attention deficit hyperactivity disorder"),
    ("225444004", "At risk of suicide"),
)
CATEGORIES_OF_NEED = (("N1", 50), ("N2", 8), ("N3", 5), ("N4", 10), ("N5", 15), ("N6", 4), ("N7", 1), ("N8", 7))
CATEGORIES_OF_ABUSE = (("NEG", 50), ("EMO", 35), ("PHY", 7), ("SAB", 4), ("MUL", 4))
VOICE = (
    "I want my mum to know I am trying.",
    "School is better when I can sit near the door.",
    "I don't like talking in a big room with lots of people.",
    "I want to stay at my school.",
    "The group helps because nobody judges you.",
    "I feel safer now my brother is not at home.",
    "I would like the same worker, not a new one every time.",
    "Sometimes I can't sleep because of worrying about exams.",
)
YOUNG_PERSON_VIEWS = (
    "I want to feel less worried going into school.",
    "I want to be able to talk to my family about how I feel.",
    "I want to stop hurting myself.",
    "I want to sleep better and go out with my friends again.",
)
ENDINGS = (
    "Back in lessons every day for four weeks",
    "RCADS score below the clinical threshold and no self-harm for six weeks",
    "Able to use two coping strategies without prompting",
    "Family say home is calmer; review at the last session",
)


def uid(seed: int, *parts: object) -> str:
    """A stable id for a synthetic record: the same seed and parts always give the same id (and no truth leaks)."""
    text = "|".join(str(p) for p in (seed, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:12].upper()


@dataclass(frozen=True)
class Happening:
    """One thing an agency records about the child: when, which agency (and view), what, and its details."""

    day: date
    minute: int  # minutes after local midnight, for sources that carry a time
    agency: str  # gp | school | camhs | acute | council | vcse | self
    what: str
    record: SourceRecord | None  # the agency's view of the child (None for the self-referral page)
    data: dict[str, Any] = field(default_factory=dict)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def school_entry(dob: date) -> date:
    """Reception starts the September after the fourth birthday (1 Sept birthdays start a year later)."""
    return date(dob.year + 4 + (1 if (dob.month, dob.day) >= (9, 1) else 0), 9, 1)


def school_leaving(dob: date) -> date:
    return date(school_entry(dob).year + 14, 7, 20)


def _holiday(day: date) -> bool:
    """English school holidays, approximately: summer, Christmas, Easter and the three half-terms."""
    m, d = day.month, day.day
    return (
        (m == 7 and d >= 22)
        or m == 8
        or (m == 10 and d >= 25)
        or (m == 12 and d >= 20)
        or (m == 1 and d < 5)
        or (m == 2 and 14 <= d < 21)
        or (m == 4 and d < 14)
        or (m == 5 and d >= 26)
    )


def term_weeks(start: date, end: date) -> list[date]:
    """Mondays of the school weeks that start and end inside [start, end)."""
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    out = []
    while monday + timedelta(days=4) < end:
        if not _holiday(monday) and not _holiday(monday + timedelta(days=4)):
            out.append(monday)
        monday += timedelta(days=7)
    return out


_RECIPIENT_KINDS = (("school", "school"), ("gp-practice", "gp"), ("vcse", "vcse"), ("local-authority", "council"))
_ABSENCE_CODES = (("I", 55), ("M", 10), ("C", 10), ("O", 15), ("G", 5), ("U", 5))


def week_marks(rng: random.Random, absence: float, first_week_of_term: bool) -> str:
    """Ten register marks (AM '/', PM '\\'), absences by DfE code; '#' for an INSET day at term start."""
    marks = []
    for session in range(10):
        if first_week_of_term and session < 2:
            marks.append("#")
        elif rng.random() < absence:
            marks.append(_weighted(rng, _ABSENCE_CODES))
        elif rng.random() < 0.02:
            marks.append("L")
        else:
            marks.append("/" if session % 2 == 0 else "\\")
    return "".join(marks)


class _Story:
    def __init__(
        self, population: Population, child: Child, records: list[SourceRecord], seed: int, reference: Reference
    ) -> None:
        self.start, self.end = population.start, population.end
        self.nicknames = reference.nickname_groups
        self.child = child
        self.seed = seed
        self.rng = random.Random(f"story|{seed}|{population.seed}|{child.index}")
        self.by_kind: dict[str, list[SourceRecord]] = {}
        for r in records:
            self.by_kind.setdefault(r.kind, []).append(r)
        self.out: list[Happening] = []
        self.years = max(1.0, (self.end - self.start).days / 365)

    def view(self, kind: str) -> SourceRecord | None:
        found = self.by_kind.get(kind)
        return found[0] if found else None

    def id(self, *parts: object) -> str:
        return uid(self.seed, self.child.index, *parts)

    def day_in(self, lo: date, hi: date) -> date:
        span = (hi - lo).days
        return lo + timedelta(days=self.rng.randrange(span)) if span > 0 else lo

    def add(
        self,
        day: date,
        agency: str,
        what: str,
        data: dict[str, Any],
        minute: int | None = None,
        view: SourceRecord | None = None,
    ) -> None:
        if not self.start <= day < self.end:
            return  # before the window or after the export date: not in this extract
        rec = view or (self.view(agency) if agency != "self" else None)
        when = minute if minute is not None else self.rng.randrange(8 * 60, 18 * 60)
        self.out.append(Happening(day, when, agency, what, rec, data))

    # --- the referral that starts a CAMHS journey -------------------------------------------------------

    def referrer(self) -> str:
        options = [(k, w) for k, w in REFERRERS.items() if k == "self" or (self.view(k) and self.takes_part(k))]
        return str(_weighted(self.rng, options))

    def school_window(self) -> tuple[date, date]:
        """The part of the window the child is of school age (empty when too young or already left)."""
        entry, leaving = school_entry(self.child.birth_date), school_leaving(self.child.birth_date)
        return max(self.start, entry), min(self.end, leaving)

    def takes_part(self, kind: str) -> bool:
        if kind == "school":
            lo, hi = self.school_window()
            return lo < hi
        return True

    def build(self) -> list[Happening]:
        rng = self.rng
        camhs = self.view("camhs")
        referred = camhs is not None and rng.random() < min(0.9, CAMHS_REFERRAL_PER_YEAR * self.years)
        referral: dict[str, Any] | None = None
        if referred:
            day = self.day_in(self.start, self.end - timedelta(days=30))
            code, text = rng.choice(REASONS)
            referral = {
                "referral_id": self.id("referral"),
                "day": day,
                "by": self.referrer(),
                "reason_code": code,
                "reason": text,
                "urgency": "urgent" if code in ("248062006", "225444004") else "routine",
                "to": camhs.organisation if camhs else "",
            }
        self.gp(referral)
        self.school(referral)
        self.acute(referral)
        self.vcse(referral)
        if referral and referral["by"] == "self":
            self.self_referral(referral)
        if camhs is not None:
            self.camhs(referral)
        self.council()
        self.out.sort(key=lambda h: (h.day, h.minute))
        return self.out

    def gp(self, referral: dict[str, Any] | None) -> None:
        if not self.view("gp"):
            return
        self.add(self.start, "gp", "registered", {}, minute=7 * 60)
        if referral and referral["by"] == "gp":
            self.add(referral["day"], "gp", "referral", dict(referral))

    def school(self, referral: dict[str, Any] | None) -> None:
        if not self.view("school"):
            return
        rng, child = self.rng, self.child
        entry = school_entry(child.birth_date)
        lo, hi = self.school_window()
        if lo >= hi:
            return
        admitted = entry if entry.year + 7 > self.start.year else date(entry.year + 7, 9, 1)
        self.add(lo, "school", "pupil", {"admitted": admitted}, minute=6 * 60)
        band = rng.random()
        absence = rng.uniform(0.01, 0.06) if band < 0.75 else rng.uniform(0.08, 0.2) if band < 0.93 else 0.3
        if self.view("camhs"):
            absence *= 1.5
        previous: date | None = None
        for monday in term_weeks(lo, hi):
            first = previous is not None and (monday - previous).days > 7 and rng.random() < 0.3
            self.add(
                monday, "school", "attendance", {"week": monday, "marks": week_marks(rng, absence, first)}, 17 * 60
            )
            previous = monday
        need = 3.0 if self.view("camhs") else 1.0
        for n in range(_poisson(rng, PASTORAL_PER_YEAR * need * self.years)):
            category = rng.choice(("wellbeing", "friendships", "behaviour", "attendance", "bereavement", "online"))
            self.concern(lo, hi, "pastoral", category, n)
        for n in range(_poisson(rng, SAFEGUARDING_PER_YEAR * need * self.years)):
            category = rng.choice(("neglect", "domestic-abuse", "self-harm", "online-safety", "exploitation"))
            self.concern(lo, hi, "safeguarding", category, 100 + n)
        if rng.random() < SEN_CHANGE_PER_YEAR * need * self.years:
            previous_status, status = rng.choice((("N", "K"), ("N", "K"), ("K", "E"), ("K", "N")))
            need_code = rng.choice(("SEMH", "SLCN", "ASD", "SPLD", "MLD"))
            day = self.day_in(lo, hi)
            self.add(day, "school", "sen", {"status": status, "previous": previous_status, "need": need_code})
        for n in range(_poisson(rng, SUSPENSION_PER_YEAR * self.years)):
            day = self.day_in(lo, hi)
            reason = rng.choice(("DB", "PP", "VP", "BU"))
            self.add(
                day, "school", "exclusion", {"id": self.id("excl", n), "sessions": rng.randint(1, 6), "reason": reason}
            )
        if referral and referral["by"] == "school":
            self.add(referral["day"], "school", "referral", dict(referral))
        vcse = self.view("vcse")
        if not referral and vcse and rng.random() < 0.3:
            data = {"referral_id": self.id("vcse-referral"), "to": vcse.organisation}
            self.add(self.day_in(lo, hi), "school", "referral-vcse", data)

    def concern(self, lo: date, hi: date, ctype: str, category: str, n: int) -> None:
        rng = self.rng
        self.add(
            self.day_in(lo, hi),
            "school",
            "concern",
            {
                "id": self.id("concern", n),
                "type": ctype,
                "category": category,
                "severity": rng.choice(("low", "medium", "high")) if ctype == "safeguarding" else "low",
                "role": "designated-safeguarding-lead"
                if ctype == "safeguarding"
                else rng.choice(("teacher", "head-of-year")),
                "action": rng.choice(("spoke with pupil", "parents contacted", "referred to DSL", "monitoring")),
            },
        )

    def acute(self, referral: dict[str, Any] | None) -> None:
        views = self.by_kind.get("acute")
        if not views:
            return
        rng = self.rng
        visits = max(1, _poisson(rng, AE_PER_YEAR * self.years))
        days = sorted(self.day_in(self.start, self.end) for _ in range(visits))
        if referral and referral["by"] == "acute":
            days.append(referral["day"])
        for n, day in enumerate(days):
            self.attendance(views[0], day, n, admitted=rng.random() < ADMITTED)
        if referral and referral["by"] == "acute":
            self.add(referral["day"], "acute", "referral", dict(referral), minute=23 * 60)
        if rng.random() < OUTPATIENT:
            booked = self.day_in(self.start, self.end)
            clinic = booked + timedelta(days=rng.randint(14, 42))
            appt: dict[str, Any] = {
                "id": self.id("opa"),
                "starts": clinic,
                "minute": rng.choice((570, 600, 660, 840)),
                "service": "Paediatrics",
            }
            self.add(booked, "acute", "appointment", {**appt, "status": "booked"})
            outcome = rng.random()
            if outcome < 0.15:
                self.add(clinic, "acute", "appointment", {**appt, "status": "missed"}, minute=appt["minute"] + 30)
            elif outcome < 0.25:
                self.add(clinic - timedelta(days=2), "acute", "appointment", {**appt, "status": "cancelled"})
            else:
                self.attendance(views[0], clinic, 50, admitted=False, patient_class="O")
        if len(views) > 1:  # a duplicate registration, later merged
            dup = views[1]
            day = self.day_in(self.start, self.end)
            self.attendance(dup, day, 90, admitted=False)
            merge_day = day + timedelta(days=rng.randint(2, 30))
            self.add(merge_day, "acute", "merge", {"retired": dup}, view=views[0])

    def attendance(self, view: SourceRecord, day: date, n: int, admitted: bool, patient_class: str = "E") -> None:
        """A hospital visit as the trust's ADT feed tells it: registered (A04) or admitted (A01), then discharged."""
        rng = self.rng
        started = datetime.combine(day, time()) + timedelta(minutes=rng.randrange(0, 22 * 60))
        visit = {
            "visit": self.id("visit", view.record_id, n),
            "class": "I" if admitted else patient_class,
            "started": started,
        }
        at = started.hour * 60 + started.minute
        self.add(day, "acute", "encounter-start", visit, minute=at, view=view)
        if rng.random() < REGISTERED_IN_ERROR:
            self.add(day, "acute", "encounter-cancelled", visit, minute=at + 20, view=view)
            return
        stay = (
            timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6))
            if admitted
            else timedelta(minutes=rng.randint(90, 360))
        )
        ended = started + stay
        self.add(
            ended.date(),
            "acute",
            "encounter-end",
            {**visit, "ended": ended},
            minute=ended.hour * 60 + ended.minute,
            view=view,
        )

    def vcse(self, referral: dict[str, Any] | None) -> None:
        if not self.view("vcse"):
            return
        rng = self.rng
        first = self.day_in(self.start, self.end - timedelta(days=14))
        if referral and referral["by"] == "vcse":
            first = min(first, referral["day"] - timedelta(days=21))
        consent = self.id("vcse-consent") if rng.random() < VCSE_CONSENT else None
        service = rng.choice(("one-to-one mentoring", "youth group", "counselling", "peer support"))
        base = {"consent": consent, "service": service}
        self.add(first, "vcse", "support_offered", {**base, "id": self.id("offer"), "offered": [service, "drop-in"]})
        sessions = rng.randint(3, 12)
        for n in range(sessions):
            day = first + timedelta(days=7 * (n + 1))
            self.add(day, "vcse", "session", {**base, "id": self.id("session", n), "attended": rng.random() < 0.85})
        if rng.random() < 0.4:
            day = first + timedelta(days=7 * rng.randint(1, sessions))
            self.add(
                day,
                "vcse",
                "voice",
                {
                    **base,
                    "id": self.id("vcse-voice"),
                    "text": rng.choice(VOICE),
                    "medium": rng.choice(("said", "wrote", "drew")),
                },
            )
        if referral and referral["by"] == "vcse":
            self.add(referral["day"], "vcse", "referral", {**base, **referral})

    def self_referral(self, referral: dict[str, Any]) -> None:
        """The young person (or a parent) fills in the hub's page: names as they use them, the NHS number rarely."""
        rng, child = self.rng, self.child
        day = referral["day"]
        older = (day - child.birth_date).days > 365 * 12
        given = child.given_name
        if rng.random() < 0.3 and given.lower() in self.nicknames:
            given = rng.choice(self.nicknames[given.lower()]).title()
        form: dict[str, Any] = {
            "requester": "young-person" if older and rng.random() < 0.7 else "parent",
            "given_name": given,
            "family_name": child.family_name_on(day),
            "birth_date": child.birth_date.isoformat(),
            "postcode": child.postcode_on(day),
            "help_wanted": rng.choice(YOUNG_PERSON_VIEWS),
            "areas": sorted(rng.sample(("feeling-low", "worry", "self-harm", "school", "home", "friends"), 2)),
            "may_tell": sorted({"camhs", *rng.sample(("gp", "school", "vcse"), rng.randint(0, 2))}),
            "contact_method": "text",
            "contact_value": f"07700 900{rng.randrange(1000):03d}",
        }
        if rng.random() < SELF_REFERRAL_NHS_GIVEN:
            if rng.random() < SELF_REFERRAL_NHS_MISTYPED:
                wrong = {**form, "nhs_number": identifiers.mistyped_nhs_number(rng, child.nhs_number)}
                self.add(
                    day,
                    "self",
                    "form",
                    {"form": wrong, "error": "nhs-typo", "referral_id": referral["referral_id"]},
                    minute=19 * 60,
                )
                # the page says which field is wrong; they leave the number out and send again
                self.add(
                    day, "self", "form", {"form": form, "referral_id": referral["referral_id"]}, minute=19 * 60 + 3
                )
                return
            form["nhs_number"] = child.nhs_number
        self.add(day, "self", "form", {"form": form, "referral_id": referral["referral_id"]}, minute=19 * 60)

    def camhs(self, referral: dict[str, Any] | None) -> None:
        rng = self.rng
        if referral is None:  # known to CAMHS before the window: an open episode, a few appointments
            self.add(self.start, "camhs", "registered", {}, minute=7 * 60)
            episode = {"id": self.id("episode"), "start": self.start - timedelta(days=rng.randint(30, 400))}
            self.add(self.start, "camhs", "episode", {**episode, "status": "active"})
            day = self.start + timedelta(days=rng.randint(7, 60))
            for n in range(rng.randint(1, 4)):
                self.appointment(day, n)
                day += timedelta(days=rng.choice((14, 21, 28)))
            if rng.random() < 0.5:
                self.add(day, "camhs", "episode", {**episode, "status": "finished", "end": day})
            return
        day = referral["day"]
        self.add(day + timedelta(days=rng.randint(1, 3)), "camhs", "registered", {}, minute=7 * 60)
        decided = day + timedelta(days=rng.randint(7, 28))
        accepted = rng.random() < CAMHS_ACCEPTED
        self.add(decided, "camhs", "referral-decision", {**referral, "accepted": accepted})
        if not accepted:
            return
        episode = {"id": self.id("episode"), "start": decided}
        self.add(decided, "camhs", "episode", {**episode, "status": "active"})
        first = decided + timedelta(days=rng.randint(14, 42))
        young_person = (first - self.child.birth_date).days >= 365 * 13
        consent = {
            "id": self.id("consent"),
            "given_by": "young-person" if young_person else "parental-responsibility",
            "recipients": self.recipients(),
            "start": first,
        }
        if young_person:  # under 16 their consent counts once a clinician has recorded they are competent
            self.add(first, "camhs", "competence", {"id": f"{consent['id']}-gillick", "outcome": "competent"})
        self.add(first, "camhs", "consent", {**consent, "status": "given"})
        if rng.random() < CONSENT_WITHDRAWN:
            self.add(
                self.day_in(first + timedelta(days=14), first + timedelta(days=200)),
                "camhs",
                "consent",
                {**consent, "status": "withdrawn"},
            )
        appointments = rng.randint(2, 8)
        attended: list[date] = []
        day = first
        for n in range(appointments):
            if self.appointment(day, n):
                attended.append(day)
            day += timedelta(days=rng.choice((7, 14, 14, 21)))
        if not attended:
            return
        first_score = {"id": self.id("rcads", 1), "score": rng.randint(20, 90), "first": True}
        self.add(attended[0], "camhs", "assessment", first_score)
        grouping = _weighted(rng, THRIVE)
        agreed = attended[min(1, len(attended) - 1)]
        thrive = {
            "grouping": grouping,
            "view": rng.choice(YOUNG_PERSON_VIEWS),
            "ending": rng.choice(ENDINGS),
            "id": self.id("thrive"),
        }
        self.add(agreed, "camhs", "thrive", thrive)
        plan = {"id": self.id("careplan"), "start": agreed}
        if grouping != "getting-advice":
            self.add(agreed, "camhs", "careplan", {**plan, "status": "active"})
        if grouping == "getting-risk-support":
            self.add(agreed, "camhs", "flag", {"id": self.id("flag"), "start": agreed})
        end = day + timedelta(days=14)
        if len(attended) >= 2:
            last_score = {"id": self.id("rcads", 2), "score": rng.randint(10, 60), "first": False}
            self.add(attended[-1], "camhs", "assessment", last_score)
        if grouping != "getting-advice":
            self.add(end, "camhs", "careplan", {**plan, "status": "completed", "end": end})
        self.add(end, "camhs", "episode", {**episode, "status": "finished", "end": end})
        self.add(end, "camhs", "communication", {"id": self.id("discharge-letter")})

    def recipients(self) -> list[tuple[str, str]]:
        """Who the young person agrees CAMHS may tell: some of the organisations that already know them."""
        available = [(t, r.organisation) for t, k in _RECIPIENT_KINDS if (r := self.view(k)) is not None]
        if not available:
            return []
        return sorted(self.rng.sample(available, self.rng.randint(1, len(available))))

    def appointment(self, day: date, n: int) -> bool:
        """Booked a week ahead over HL7 SIU; attended (FHIR Encounter), missed (SIU^S26) or cancelled (SIU^S15)."""
        rng = self.rng
        appt: dict[str, Any] = {
            "id": self.id("appt", n),
            "starts": day,
            "minute": rng.choice((540, 600, 690, 840, 930)),
            "service": "CAMHS",
        }
        self.add(day - timedelta(days=7), "camhs", "appointment", {**appt, "status": "booked"})
        roll = rng.random()
        if roll < 0.1:
            self.add(day, "camhs", "appointment", {**appt, "status": "missed"}, minute=appt["minute"] + 30)
            return False
        if roll < 0.16:
            self.add(day - timedelta(days=1), "camhs", "appointment", {**appt, "status": "cancelled"})
            return False
        self.add(day, "camhs", "encounter", appt, minute=appt["minute"] + 60)
        return True

    def council(self) -> None:
        if not self.view("council"):
            return
        rng = self.rng
        contact = self.day_in(self.start, self.end - timedelta(days=14))
        source = rng.choice(("school", "police", "health", "family", "anonymous"))
        base = {"referral_id": self.id("la-referral"), "source": source}
        self.add(contact, "council", "contact", {**base, "id": self.id("contact")})
        decided = contact + timedelta(days=rng.randint(1, 3))
        if rng.random() < 0.4:
            self.add(
                decided,
                "council",
                "referral",
                {
                    **base,
                    "id": self.id("la-ref"),
                    "outcome": "nfa",
                    "redirected_to": rng.choice(("early-help", "vcse", "school-pastoral")),
                },
            )
            return
        self.add(decided, "council", "referral", {**base, "id": self.id("la-ref"), "outcome": None})
        assessed = decided + timedelta(days=rng.randint(10, 45))
        outcome = _weighted(rng, (("cin", 55), ("s47", 10), ("nfa", 35)))
        self.add(
            assessed,
            "council",
            "assessment",
            {
                **base,
                "id": self.id("assessment"),
                "outcome": outcome,
                "factors": rng.choice(("3A", "2B", "4A", "21", "1B")),
            },
        )
        if rng.random() < 0.6:
            self.add(
                self.day_in(decided, assessed + timedelta(days=60)),
                "council",
                "voice",
                {"id": self.id("voice", 1), "text": rng.choice(VOICE), "medium": rng.choice(("said", "drew", "wrote"))},
            )
        if outcome == "nfa":
            self.add(assessed + timedelta(days=3), "council", "closure", {"id": self.id("case"), "end_reason": "RC8"})
            return
        plan_type, category = "cin_plan", _weighted(rng, CATEGORIES_OF_NEED)
        if outcome == "s47":
            self.add(
                assessed,
                "council",
                "s47",
                {**base, "id": self.id("s47"), "outcome": rng.choice(("substantiated", "not-substantiated"))},
            )
            if rng.random() < 0.5:
                plan_type, category = "cp_plan", _weighted(rng, CATEGORIES_OF_ABUSE)
        started = assessed + timedelta(days=rng.randint(3, 14))
        plan = {"id": self.id(plan_type), "category": category, "start": started}
        self.add(started, "council", plan_type, {**plan, "status": "started"})
        if rng.random() < 0.03:
            la: dict[str, Any] = {
                "id": self.id("lac"),
                "start": started + timedelta(days=20),
                "legal_status": rng.choice(("C2", "V2", "J2")),
                "placement": rng.choice(("U4", "U1", "R1")),
            }
            self.add(la["start"], "council", "looked_after", {**la, "status": "started"})
        review = started + timedelta(days=90)
        ending = started + timedelta(days=rng.randint(180, 365))
        while review < ending:
            self.add(review, "council", plan_type, {**plan, "status": "reviewed", "review": review})
            review += timedelta(days=90)
        self.add(ending, "council", plan_type, {**plan, "status": "ended", "end": ending})
        self.add(ending + timedelta(days=7), "council", "closure", {"id": self.id("case"), "end_reason": "RC1"})


def child_story(
    population: Population,
    child: Child,
    records: list[SourceRecord],
    seed: int,
    reference: Reference | None = None,
) -> list[Happening]:
    """Everything the agencies holding `records` (this child's) record about the child, in time order
    (`reference`: the bundled nicknames, read here when the caller has not)."""
    return _Story(population, child, records, seed, reference or Reference.bundled()).build()
