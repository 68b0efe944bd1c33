"""Identity resolution: which child is this record about?

Pure parts (no I/O, no clock): ``names`` and ``compare`` (field comparators), ``scoring`` (Fellegi–Sunter
weights from versioned YAML), ``blocking`` (candidate keys that keep the cost near linear) and ``rules``
(the deterministic and conflict rules). SQL side effects live in ``registry`` (resolve a subject to a child),
``merging`` (merge, unmerge, re-projection) and ``review`` (the data stewards' queue).
"""
