"""Schemas of the admin batch endpoints: the import upload, its summary and the batch list."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from api.fields import Day, Integer
from services.pool.batch_import import FORMATS


class ImportFileSchema(ma.Schema):
    file = Upload(
        required=True, metadata={"description": "A CSV (UTF-8, header row) or JSON (list of objects) file"}
    )


class ImportQuerySchema(ma.Schema):
    format = ma.fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv or json; by default from the file name's extension or content type"},
    )


class ProjectTotalSchema(ma.Schema):
    project_code = ma.fields.String()
    batches = Integer()
    tonnes = Integer()


class ImportSummarySchema(ma.Schema):
    batches_created = Integer()
    tonnes = Integer()
    grams = Integer()
    batch_ids = ma.fields.List(Integer())
    projects = ma.fields.List(ma.fields.Nested(ProjectTotalSchema))


class BatchFilterSchema(ma.Schema):
    project_id = Integer(metadata={"description": "Only the batches of this project"})


class BatchProjectSchema(ma.Schema):
    id = Integer()
    code = ma.fields.String()
    name = ma.fields.String()


class AdminBatchSchema(ma.Schema):
    id = Integer()
    project = ma.fields.Nested(BatchProjectSchema)
    kind_code = ma.fields.String()
    vintage = Integer()
    serial_prefix = ma.fields.String()
    serial_start = Integer()
    serial_end = Integer()
    serial_digits = Integer()
    first_serial = ma.fields.String()
    last_serial = ma.fields.String()
    quantity_t = Integer()
    issued_on = Day()
    registry_ref = ma.fields.String()
    registry_url = ma.fields.String()
    issued_g = Integer()
    available_g = Integer()
    available_t = Integer()
    reserved_g = Integer()
    sold_g = Integer()
    retired_g = Integer()
    created_at = ma.fields.DateTime()
