"""The timeline row's JSON-ready values: orjson's fast round trip must give exactly what the plain walk gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from projections.timeline import _jsonable, _jsonable_slowly

zones = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)), None])
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.dates()
    | st.datetimes(timezones=zones)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_fast_and_slow_agree(value: object) -> None:
    assert _jsonable(value) == _jsonable_slowly(value)


def test_values_orjson_cannot_take_still_convert() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    odd = {1: when, "b": b"raw"}
    assert _jsonable(odd) == {1: when.isoformat(), "b": b"raw"}
