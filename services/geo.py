"""Great-circle geometry shared by the footprint calculator and event accounting."""

from __future__ import annotations

import math


def central_angle(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The haversine central angle (radians) between two points given in degrees."""
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(h)))
