"""Great-circle distance shared by the footprint calculator and event accounting: one convention.

The distance between two points is the haversine distance on a sphere of radius 6,371.0088 km,
the mean Earth radius R1 = (2a + b) / 3 of the Geodetic Reference System 1980 adopted by the
IUGG (H. Moritz, "Geodetic Reference System 1980", Journal of Geodesy 74 (2000) 128–133), rounded
half-up to 0.1 km once, at the end. Callers then work in exact Decimal from that rounded figure.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MEAN_EARTH_RADIUS_KM = 6371.0088
KM_STEP = Decimal("0.1")
METHOD = (
    "great-circle (haversine) distance on a sphere of radius 6,371.0088 km "
    "(IUGG mean Earth radius, GRS 80), rounded half-up to 0.1 km"
)


def central_angle(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The haversine central angle (radians) between two points given in degrees."""
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(h)))


def great_circle_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal | float, lon2: Decimal | float
) -> Decimal:
    """The great-circle distance in km between two points given in degrees, to 0.1 km half-up."""
    km = MEAN_EARTH_RADIUS_KM * central_angle(float(lat1), float(lon1), float(lat2), float(lon2))
    # repr gives the float's shortest exact decimal text, so the half-up step sees what was computed.
    return Decimal(repr(km)).quantize(KM_STEP, rounding=ROUND_HALF_UP)
