/** The client against the running service (the embedded default) through a fake `wx`. */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ApiError, CarbonClient, PaymentError } from "../src";
import { FakeWx } from "./fake-wx";
import { assertCommitted, generate } from "./generated";
import { type Service, startService } from "./service";

let service: Service;

before(async () => {
  service = await startService();
});

after(async () => {
  await service?.stop();
});

function client(options: Partial<ConstructorParameters<typeof CarbonClient>[0]> = {}) {
  const wx = new FakeWx(service.baseUrl);
  return { wx, api: new CarbonClient({ baseUrl: service.baseUrl, wx, ...options }) };
}

const ordersPost = (o: { url: string; method: string }) => o.method === "POST" && o.url.endsWith("/api/v1/orders");

describe("login → order → payment → certificate", () => {
  test("wx.requestPayment pays the order and its certificate verifies", async () => {
    const { wx, api } = client();
    const login = await api.login();
    assert.ok(login.token && api.token === login.token);

    const placed = await api.placeOrder({ product: "one_yuan", units: 2 });
    assert.equal(placed.order?.status, "awaiting_payment");
    assert.match(placed.request_payment && "package" in placed.request_payment ? String(placed.request_payment.package) : "", /^prepay_id=/);
    const sent = wx.sent.find(ordersPost);
    assert.equal(sent?.header.Authorization, `Bearer ${login.token}`);
    assert.ok(sent?.header["Idempotency-Key"], "an order carries an Idempotency-Key");

    const paid = await api.pay(placed);
    assert.equal(paid.status, "fulfilled");
    assert.equal(wx.payments.length, 1);
    assert.equal(wx.payments[0].package, (placed.request_payment as { package: string }).package);

    const certificate = await api.certificateOf(paid);
    assert.ok(certificate !== undefined, "the fulfilled order has a certificate");
    assert.equal(certificate.grams, paid.grams);
    const verified = await api.verify(String(certificate.verification_code));
    assert.equal(verified.valid, true);
    assert.equal(verified.number, certificate.number);
  });

  test("on the embedded default, sandbox pay stands in for WeChat Pay", async () => {
    const { wx, api } = client();
    await api.login();
    const placed = await api.placeOrder({ product: "one_yuan", units: 1 });
    const paid = await api.sandboxPay(String(placed.order?.out_trade_no));
    assert.equal(paid.status, "fulfilled");
    assert.equal(wx.payments.length, 0);
    assert.ok(await api.certificateOf(paid));
  });

  test("a cancelled payment sheet leaves the order open", async () => {
    const { wx, api } = client();
    await api.login();
    const placed = await api.placeOrder({ product: "one_yuan", units: 1 });
    wx.cancelNextPayment = true;
    await assert.rejects(api.pay(placed), (error: unknown) => error instanceof PaymentError && error.cancelled);
    assert.equal((await api.order(String(placed.order?.out_trade_no))).status, "awaiting_payment");
    assert.equal((await api.pay(placed)).status, "fulfilled"); // paying again works
  });
});

describe("Idempotency-Key and 503", () => {
  test("a 503 is retried after Retry-After with the same key, and is one order", async () => {
    const { wx, api } = client();
    await api.login();
    wx.answerNext(ordersPost, {
      statusCode: 503,
      header: { "Retry-After": "1" },
      data: { code: 503, status: "Service Unavailable", error: "upstream_unavailable", message: "retry" },
    });
    const started = Date.now();
    const placed = await api.placeOrder({ product: "one_yuan", units: 1 });
    assert.ok(Date.now() - started >= 950, "waited for Retry-After");
    const tries = wx.sent.filter(ordersPost);
    assert.deepEqual(tries.map((t) => t.answered), [503, 201]);
    assert.equal(tries[0].header["Idempotency-Key"], tries[1].header["Idempotency-Key"]);

    // The key reaches the service: the same key and body answer the same order.
    const key = tries[1].header["Idempotency-Key"];
    const again = await api.placeOrder({ product: "one_yuan", units: 1 }, key);
    assert.equal(again.order?.out_trade_no, placed.order?.out_trade_no);
    const other = await api.placeOrder({ product: "one_yuan", units: 1 });
    assert.notEqual(other.order?.out_trade_no, placed.order?.out_trade_no);
  });

  test("the wait is bounded and the retries end", async () => {
    const { wx, api } = client({ maxRetries: 2, maxRetryAfterS: 0.1 });
    await api.login();
    const unavailable = {
      statusCode: 503,
      header: { "retry-after": "3600" },
      data: { code: 503, status: "Service Unavailable", error: "upstream_unavailable", message: "down" },
    };
    for (let i = 0; i < 3; i++) wx.answerNext(ordersPost, unavailable);
    const started = Date.now();
    await assert.rejects(
      api.placeOrder({ product: "one_yuan", units: 1 }),
      (error: unknown) => error instanceof ApiError && error.status === 503 && error.retryAfterS === 3600,
    );
    assert.ok(Date.now() - started < 2_000, "Retry-After: 3600 is capped by maxRetryAfterS");
    assert.equal(wx.sent.filter(ordersPost).length, 3);
  });

  test("other errors are not retried and carry the service's slug", async () => {
    const { wx, api } = client();
    await assert.rejects(api.call("get", "/api/v1/me"), (e: unknown) => e instanceof ApiError && e.status === 401);
    await api.login();
    await assert.rejects(
      api.placeOrder({ product: "one_yuan", units: 0 }),
      (e: unknown) => e instanceof ApiError && e.status === 422 && typeof e.error === "string",
    );
    assert.equal(wx.sent.filter(ordersPost).length, 1);
    assert.equal(wx.sent.filter((o) => o.url.endsWith("/api/v1/auth/login"))[0].header["Idempotency-Key"], undefined);
  });
});

describe("WeRun on the embedded default", () => {
  test("a sandbox WeRun payload is credited with points", async () => {
    const { api } = client();
    await api.login();
    const payload = await api.call("post", "/api/v1/sandbox/werun-payload", { body: { days: [{ steps: 12_000 }] } });
    const result = await api.call("post", "/api/v1/actions/werun", {
      body: { encryptedData: String(payload.encryptedData), iv: String(payload.iv) },
    });
    assert.equal(result.days_received, 1);
    assert.ok(result.points > 0);
    const points = await api.call("get", "/api/v1/me/points");
    assert.equal(points.balance, result.points);
  });
});

test("the committed types are generated from the running service's /api/openapi.json", async () => {
  const answer = await fetch(`${service.baseUrl}/api/openapi.json`);
  assert.equal(answer.status, 200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "carbon-client-spec-"));
  try {
    const spec = path.join(dir, "openapi.json");
    fs.writeFileSync(spec, Buffer.from(await answer.arrayBuffer()));
    const out = generate(spec);
    try {
      assertCommitted(out, "the served /api/openapi.json");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
