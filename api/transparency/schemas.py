"""Schemas of the public transparency report."""

from __future__ import annotations

import marshmallow as ma

from api.fields import Integer


class PoolFiguresSchema(ma.Schema):
    batches = Integer()
    issued_g = Integer()
    available_g = Integer()
    reserved_g = Integer()
    sold_g = Integer(metadata={"description": "Sold grams, retired ones included"})
    retired_g = Integer(metadata={"description": "Grams retired at the registry"})
    issued_t = ma.fields.String(metadata={"description": "Tonnes, exact, six decimals"})
    available_t = ma.fields.String()
    reserved_t = ma.fields.String()
    sold_t = ma.fields.String()
    retired_t = ma.fields.String()


class ProjectFiguresSchema(PoolFiguresSchema):
    id = Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    registry_name = ma.fields.String()
    county = ma.fields.String()
    owner = ma.fields.String(allow_none=True)


class TotalsSchema(PoolFiguresSchema):
    projects = Integer()


class RetirementProjectSchema(ma.Schema):
    code = ma.fields.String()
    tonnes = Integer()


class PublicRetirementSchema(ma.Schema):
    kind = ma.fields.String()
    tonnes = Integer()
    registry_ref = ma.fields.String(metadata={"description": "Look it up at the registry"})
    registry_url = ma.fields.String()
    retired_on = ma.fields.String(metadata={"format": "date"})
    projects = ma.fields.List(ma.fields.Nested(RetirementProjectSchema))


class TransparencySchema(ma.Schema):
    generated_at = ma.fields.String(metadata={"format": "date-time", "description": "When it was computed"})
    unit = ma.fields.String()
    projects = ma.fields.List(ma.fields.Nested(ProjectFiguresSchema))
    totals = ma.fields.Nested(TotalsSchema, metadata={"description": "Sums of the projects"})
    retirements = ma.fields.List(ma.fields.Nested(PublicRetirementSchema))
    ledger_size = Integer(
        metadata={
            "description": "Entries of the public ledger these figures reflect: replaying them gives the same"
            " issued, sold and retired grams"
        }
    )
