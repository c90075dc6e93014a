"""Start fulfilling a payment, then hang before the transaction commits (a worker about to be killed).

Usage: python -m tests.support.fulfil_and_hang SETTINGS_JSON OUT_TRADE_NO TRANSACTION_ID AMOUNT_FEN
Prints HANGING once the order row is locked and the grams are confirmed inside the open transaction.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from api import create_app
from models import utcnow
from payments.interface import PaymentNotification, TradeState
from services import certificates, payment_flow


def main() -> None:
    settings_path, out_trade_no, transaction_id, amount = sys.argv[1:5]
    app = create_app("testing", overrides=json.loads(Path(settings_path).read_text()))

    def hang(*_args, **_kwargs):
        print("HANGING", flush=True)
        time.sleep(120)

    certificates.issue_in = hang
    with app.app_context():
        from api.context import order_policy

        notification = PaymentNotification(
            out_trade_no=out_trade_no,
            transaction_id=transaction_id,
            trade_state=TradeState.SUCCESS,
            amount_fen=int(amount),
            appid="",
            mchid="",
            payer_openid="",
            success_time=utcnow(),
        )
        payment_flow.handle_payment_notification(notification, "wechatpay_v3", order_policy())


if __name__ == "__main__":
    main()
