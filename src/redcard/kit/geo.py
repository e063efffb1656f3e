"""Points on the earth: great-circle distance and the spatial index's cells.

The index is Uber's H3 grid (the `h3` package): every store carries the cell of its
coordinates at two resolutions, `FINE` for the everyday few-kilometre search and `COARSE` for
wide ones, each in a B-tree index that works the same on SQLite and PostgreSQL. A search asks
for the cells that cover its circle and then measures the real distance (docs/architecture.md).
"""

from __future__ import annotations

import math

import h3

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
FINE = 7  # cells of about 5 km², edge about 1.4 km
COARSE = 5  # cells of about 250 km², edge about 9 km


def cell_of(lat: float, lng: float, resolution: int) -> int:
    """The H3 cell holding a WGS-84 point, as the 64-bit integer the database stores."""
    return int(h3.str_to_int(h3.latlng_to_cell(lat, lng, resolution)))


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance between two WGS-84 points, in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
