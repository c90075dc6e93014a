"""Schemas of orders, their lines, events, payment parameters and refunds."""

import marshmallow as ma
from marshmallow import validate

from api.fields import Integer


class OrderCreateSchema(ma.Schema):
    product = ma.fields.String(
        required=True,
        validate=validate.OneOf(["one_yuan", "credits"]),
        metadata={
            "description": "`one_yuan`: N units of ¥1 = 10 kg; `credits`: an amount of one project's credits"
        },
    )
    units = Integer(validate=validate.Range(min=1), metadata={"description": "One-yuan units (one_yuan)"})
    project_id = Integer(validate=validate.Range(min=1))
    owner_id = Integer(
        validate=validate.Range(min=1), metadata={"description": "Buy from this forest farmer or collective"}
    )
    grams = Integer(validate=validate.Range(min=1), metadata={"description": "Credits, in grams"})
    kg = Integer(validate=validate.Range(min=1), metadata={"description": "Credits, in kilograms"})
    tonnes = Integer(validate=validate.Range(min=1), metadata={"description": "Credits, in tonnes"})
    holder_name = ma.fields.String(
        load_default="",
        validate=validate.Length(max=32),
        metadata={"description": "Name shown on the certificate"},
    )

    @ma.validates_schema
    def _one_amount(self, data, **kwargs):
        given = [name for name in ("grams", "kg", "tonnes") if data.get(name) is not None]
        if data["product"] == "one_yuan" and data.get("units") is None:
            raise ma.ValidationError("required for one_yuan", "units")
        if data["product"] == "credits" and len(given) != 1:
            raise ma.ValidationError("give exactly one of grams, kg or tonnes", "grams")


class OrderLineSchema(ma.Schema):
    project_id = Integer()
    batch_id = Integer()
    grams = Integer()
    refunded_g = Integer()
    price_fen_per_t = Integer()
    amount_fen = Integer()


class OrderEventSchema(ma.Schema):
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    note = ma.fields.String()
    at = ma.fields.DateTime()


class RequestPaymentSchema(ma.Schema):
    timeStamp = ma.fields.String()
    nonceStr = ma.fields.String()
    package = ma.fields.String()
    signType = ma.fields.String()
    paySign = ma.fields.String()


class OrderSchema(ma.Schema):
    out_trade_no = ma.fields.String(metadata={"description": "Order number (WeChat Pay out_trade_no)"})
    channel = ma.fields.Function(lambda o: o.channel.value)
    status = ma.fields.Function(lambda o: o.status.value)
    grams = Integer()
    units = Integer(allow_none=True)
    amount_fen = Integer()
    refunded_fen = Integer()
    refunded_g = Integer()
    project_id = Integer(allow_none=True)
    owner_id = Integer(allow_none=True)
    holder_name = ma.fields.String()
    organisation_id = Integer(
        allow_none=True,
        metadata={
            "description": "The organisation bought for (the buyer of record: it earns the points); "
            "null for a personal purchase"
        },
    )
    provider = ma.fields.String()
    transaction_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    paid_at = ma.fields.DateTime(allow_none=True)
    fulfilled_at = ma.fields.DateTime(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema))
    events = ma.fields.List(ma.fields.Nested(OrderEventSchema))


class PlacedOrderSchema(ma.Schema):
    order = ma.fields.Nested(OrderSchema)
    request_payment = ma.fields.Nested(
        RequestPaymentSchema,
        allow_none=True,
        metadata={"description": "Pass to wx.requestPayment; null when WeChat Pay could not be reached"},
    )
    payment_error = ma.fields.String(allow_none=True)


class PaymentStartSchema(ma.Schema):
    request_payment = ma.fields.Nested(RequestPaymentSchema)


class OrderListQuerySchema(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf(
            [
                "created",
                "awaiting_payment",
                "paid",
                "fulfilled",
                "cancelled",
                "expired",
                "partially_refunded",
                "refunded",
            ]
        )
    )
    before = ma.fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "An order number: list the orders placed before it (the last one of the"
            " page before), however deep the page; `page` then counts from there"
        },
    )


class RefundCreateSchema(ma.Schema):
    grams = Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Grams to refund; all that is left when omitted"},
    )
    reason = ma.fields.String(load_default="", validate=validate.Length(max=200))


class RefundSchema(ma.Schema):
    out_refund_no = ma.fields.String()
    status = ma.fields.Function(lambda r: r.status.value)
    grams = Integer()
    amount_fen = Integer()
    reason = ma.fields.String()
    automatic = ma.fields.Boolean()
    offline = ma.fields.Boolean(
        metadata={"description": "A bank-transfer order's refund, paid back by bank and recorded by an admin"}
    )
    bank_reference = ma.fields.String(
        allow_none=True, metadata={"description": "The bank's reference of an offline refund's payout"}
    )
    created_at = ma.fields.DateTime()
    completed_at = ma.fields.DateTime(allow_none=True)
