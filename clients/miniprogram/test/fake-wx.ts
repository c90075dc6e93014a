/**
 * A fake `wx` global for the tests: `wx.request` goes over the network to the running service,
 * `wx.login` gives fresh codes (the sandbox login accepts any), and `wx.requestPayment` plays the
 * user paying and WeChat Pay telling the merchant: it knows the trade by the `prepay_id` the
 * service handed out and posts the sandbox's payment notification, as WeChat Pay posts its own.
 * Canned answers can stand in for the service's next answers (a 503, say).
 */

import type {
  WxLike,
  WxLoginOptions,
  WxRequestOptions,
  WxRequestPaymentOptions,
  WxRequestSuccess,
} from "../src/wx";

export interface SentRequest {
  url: string;
  method: string;
  header: Record<string, string>;
  data: unknown;
  answered: number;
}

interface Trade {
  outTradeNo: string;
  amountFen: number;
}

let codes = 0;

export class FakeWx implements WxLike {
  readonly sent: SentRequest[] = [];
  readonly payments: WxRequestPaymentOptions[] = [];
  cancelNextPayment = false;
  private readonly canned: Array<{ match: (o: WxRequestOptions) => boolean; answer: WxRequestSuccess }> = [];
  private readonly trades = new Map<string, Trade>();

  constructor(private readonly baseUrl: string) {}

  /** Answer the next request that `match`es with `answer` instead of sending it. */
  answerNext(match: (options: WxRequestOptions) => boolean, answer: WxRequestSuccess): void {
    this.canned.push({ match, answer });
  }

  request(options: WxRequestOptions): void {
    const record: SentRequest = {
      url: options.url,
      method: options.method,
      header: { ...options.header },
      data: options.data,
      answered: 0,
    };
    this.sent.push(record);
    const index = this.canned.findIndex((c) => c.match(options));
    if (index >= 0) {
      const [{ answer }] = this.canned.splice(index, 1);
      record.answered = answer.statusCode;
      setTimeout(() => options.success?.(answer), 0);
      return;
    }
    const hasBody = options.data !== undefined && options.method !== "GET";
    fetch(options.url, {
      method: options.method,
      headers: options.header,
      body: hasBody ? JSON.stringify(options.data) : undefined,
    })
      .then(async (response) => {
        const text = await response.text();
        let data: unknown = text;
        try {
          data = text ? JSON.parse(text) : "";
        } catch {
          // wx.request hands non-JSON bodies over as text
        }
        record.answered = response.status;
        this.noteTrade(data);
        options.success?.({ data, statusCode: response.status, header: Object.fromEntries(response.headers) });
      })
      .catch((error: Error) => options.fail?.({ errMsg: `request:fail ${error.message}` }));
  }

  login(options: WxLoginOptions): void {
    codes += 1;
    const code = `fake-wx-${process.pid}-${Date.now()}-${codes}`;
    setTimeout(() => options.success?.({ code, errMsg: "login:ok" }), 0);
  }

  requestPayment(options: WxRequestPaymentOptions): void {
    this.payments.push(options);
    const fail = (errMsg: string): void => {
      setTimeout(() => options.fail?.({ errMsg }), 0);
    };
    const missing = (["timeStamp", "nonceStr", "package", "signType", "paySign"] as const).filter(
      (name) => typeof options[name] !== "string" || options[name] === "",
    );
    if (missing.length) return fail(`requestPayment:fail parameter error: ${missing.join(", ")}`);
    const trade = this.trades.get(options.package.replace(/^prepay_id=/, ""));
    if (!trade) return fail("requestPayment:fail prepay_id unknown");
    if (this.cancelNextPayment) {
      this.cancelNextPayment = false;
      return fail("requestPayment:fail cancel");
    }
    fetch(`${this.baseUrl}/api/v1/payments/sandbox/notify`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ out_trade_no: trade.outTradeNo, amount_fen: trade.amountFen }),
    })
      .then((answer) =>
        answer.ok ? options.success?.({ errMsg: "requestPayment:ok" }) : fail(`requestPayment:fail ${answer.status}`),
      )
      .catch((error: Error) => fail(`requestPayment:fail ${error.message}`));
  }

  /** What WeChat Pay learns at prepay: which trade a prepay_id pays, for how much. */
  private noteTrade(data: unknown): void {
    const placed = data as { order?: { out_trade_no?: string; amount_fen?: number }; request_payment?: { package?: string } };
    const prepayId = placed?.request_payment?.package?.replace(/^prepay_id=/, "");
    if (prepayId && placed.order?.out_trade_no && typeof placed.order.amount_fen === "number") {
      this.trades.set(prepayId, { outTradeNo: placed.order.out_trade_no, amountFen: placed.order.amount_fen });
    }
  }
}
