"""The one great-circle convention: IUGG mean radius, haversine, half-up to 0.1 km."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.kernel import geo

LAT = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
LON = st.floats(min_value=-180, max_value=180, allow_nan=False)


def test_a_quarter_meridian_is_a_quarter_of_the_mean_circumference():
    # Equator to pole: π/2 × 6,371.0088 km = 10,007.557… km → 10,007.6 km.
    assert geo.great_circle_km(0, 0, 90, 0) == Decimal("10007.6")
    assert geo.great_circle_km(0, 0, 0, 0) == Decimal("0.0")


def test_the_distance_is_rounded_half_up_once_from_the_computed_value():
    # One degree of longitude on the equator: π/180 × 6,371.0088 = 111.1950802… km → 111.2 km.
    assert geo.great_circle_km(0, 0, 0, 1) == Decimal("111.2")
    # Fuzhou (26.07, 119.30) → Hangzhou (30.27, 120.16): 474.5605… km → 474.6 km.
    assert geo.great_circle_km(Decimal("26.07"), Decimal("119.30"), Decimal("30.27"), Decimal("120.16")) == (
        Decimal("474.6")
    )


@given(LAT, LON, LAT, LON)
def test_haversine_agrees_with_the_spherical_law_of_cosines_and_is_symmetric(lat1, lon1, lat2, lon2):
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    cosine = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    by_cosines = geo.MEAN_EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, cosine)))
    km = geo.great_circle_km(lat1, lon1, lat2, lon2)
    # The law of cosines loses precision for short arcs (about 1 m); rounding adds at most 0.05 km.
    assert abs(float(km) - by_cosines) < 0.06
    assert km == geo.great_circle_km(lat2, lon2, lat1, lon1)
    assert km == km.quantize(Decimal("0.1"))
