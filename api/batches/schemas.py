"""Schemas of the admin batch endpoints: the import upload, its summary and the batch list."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from services.batch_import import FORMATS


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
    batches = ma.fields.Integer()
    tonnes = ma.fields.Integer()


class ImportSummarySchema(ma.Schema):
    batches_created = ma.fields.Integer()
    tonnes = ma.fields.Integer()
    grams = ma.fields.Integer()
    batch_ids = ma.fields.List(ma.fields.Integer())
    projects = ma.fields.List(ma.fields.Nested(ProjectTotalSchema))


class BatchFilterSchema(ma.Schema):
    project_id = ma.fields.Integer(metadata={"description": "Only the batches of this project"})


class BatchProjectSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()


class AdminBatchSchema(ma.Schema):
    id = ma.fields.Integer()
    project = ma.fields.Nested(BatchProjectSchema)
    kind_code = ma.fields.String()
    vintage = ma.fields.Integer()
    serial_prefix = ma.fields.String()
    serial_start = ma.fields.Integer()
    serial_end = ma.fields.Integer()
    serial_digits = ma.fields.Integer()
    first_serial = ma.fields.String()
    last_serial = ma.fields.String()
    quantity_t = ma.fields.Integer()
    issued_on = ma.fields.Date()
    registry_ref = ma.fields.String()
    registry_url = ma.fields.String()
    issued_g = ma.fields.Integer()
    available_g = ma.fields.Integer()
    available_t = ma.fields.Integer()
    reserved_g = ma.fields.Integer()
    sold_g = ma.fields.Integer()
    retired_g = ma.fields.Integer()
    created_at = ma.fields.DateTime()
