"""`POST /api/v1/_reference/touch`: one conditional UPDATE of one row, for benchmarks to compare against.

Registered only when the setting BENCH_REFERENCE_ENDPOINT is on; production refuses that setting.
"""

from __future__ import annotations

import marshmallow as ma

from api.blueprint import Blueprint
from api.fields import Integer
from services.reporting import bench_reference

blp = Blueprint(
    "bench_reference",
    __name__,
    url_prefix="/api/v1/_reference",
    description="Benchmark reference (not for production)",
)


class TouchSchema(ma.Schema):
    updated = Integer(metadata={"description": "Rows updated: 1"})


@blp.route("/touch", methods=["POST"])
@blp.response(200, TouchSchema)
def touch():
    """Update the one bench counter row (a minimal database write)."""
    return {"updated": bench_reference.touch()}
