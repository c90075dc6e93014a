/**
 * A typed client of the carbon inclusion API over `wx.request`.
 *
 * - Every path, parameter, body and answer is typed from the OpenAPI description (`./schema`).
 * - The bearer token of the login goes on every request.
 * - POSTs whose description accepts an `Idempotency-Key` get one (unless given), kept across retries,
 *   so that a retried order is the same order.
 * - A 503 is retried after its `Retry-After` (bounded by `maxRetryAfterS`, at most `maxRetries` times).
 * - An order's `request_payment` goes to `wx.requestPayment`; the order is then read until the
 *   payment has been recorded.
 */

import { IDEMPOTENT_POSTS } from "./idempotent-posts";
import type { components, paths } from "./schema";
import { globalWx, type WxError, type WxLike, type WxRequestSuccess } from "./wx";

export type Schemas = components["schemas"];
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

type Operation<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M]>;

/** The paths that have an operation for `M`. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: [NonNullable<paths[P][M]>] extends [never] ? never : P;
}[keyof paths];

type Params<O> = O extends { parameters: infer X } ? X : never;

type PathPart<O> =
  Params<O> extends { path: infer X } ? ([X] extends [never] ? { path?: undefined } : { path: X }) : { path?: undefined };

type QueryPart<O> =
  Params<O> extends { query: infer Q }
    ? [Q] extends [never]
      ? { query?: undefined }
      : { query: Q }
    : Params<O> extends { query?: infer Q }
      ? [Q] extends [never | undefined]
        ? { query?: undefined }
        : { query?: Q }
      : { query?: undefined };

type BodyPart<O> = O extends { requestBody?: never }
  ? { body?: undefined }
  : O extends { requestBody: { content: { "application/json": infer B } } }
    ? { body: B }
    : O extends { requestBody?: { content: { "application/json": infer B } } }
      ? { body?: B }
      : { body?: undefined };

/** What a call takes: path and query parameters, the JSON body, extra headers, an idempotency key. */
export type RequestOptions<P extends keyof paths, M extends HttpMethod> = PathPart<Operation<P, M>> &
  QueryPart<Operation<P, M>> &
  BodyPart<Operation<P, M>> & {
    header?: Record<string, string>;
    /** For POSTs that accept one; made up when left out. */
    idempotencyKey?: string;
  };

type JsonOf<X> = X extends { content: { "application/json": infer J } } ? J : never;
type Success<O> = O extends { responses: infer R }
  ? JsonOf<R extends { 200: infer A } ? A : never> | JsonOf<R extends { 201: infer B } ? B : never>
  : never;

/** The JSON of a successful answer (200 or 201); `void` for an answer without a body (204). */
export type ResponseOf<P extends keyof paths, M extends HttpMethod> = [Success<Operation<P, M>>] extends [never]
  ? void
  : Success<Operation<P, M>>;

type AcceptsIdempotencyKey<O> =
  Params<O> extends { header?: infer H }
    ? [NonNullable<H>] extends [never]
      ? false
      : "Idempotency-Key" extends keyof NonNullable<H>
        ? true
        : false
    : false;

/** The POSTs whose description accepts an `Idempotency-Key` header (from the types). */
export type IdempotentPost = {
  [P in PathsWith<"post">]: AcceptsIdempotencyKey<Operation<P, "post">> extends true ? P : never;
}[PathsWith<"post">];

export { IDEMPOTENT_POSTS };

// Both lists come from one description; this fails to compile if they ever part.
type Unlisted = Exclude<IdempotentPost, (typeof IDEMPOTENT_POSTS)[number]>;
type Unknown = Exclude<(typeof IDEMPOTENT_POSTS)[number], IdempotentPost>;
const listsAgree: [Unlisted | Unknown] extends [never] ? true : Unlisted | Unknown = true;
void listsAgree;

export type ErrorBody = Schemas["Error"];

/** The service answered with an error status; `body` is its JSON error (`error` is the stable slug). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody> | undefined,
    readonly retryAfterS: number | undefined,
  ) {
    super(body?.message ?? `HTTP ${status}`);
    this.name = "ApiError";
  }

  /** The stable machine-readable slug of the error (`werun_replayed`, `too_many_open_orders`, ...). */
  get error(): string | undefined {
    return typeof this.body?.error === "string" ? this.body.error : undefined;
  }
}

/** `wx.request` failed (no network, a timeout): the request may or may not have reached the service. */
export class NetworkError extends Error {
  constructor(readonly errMsg: string) {
    super(errMsg);
    this.name = "NetworkError";
  }
}

/** `wx.requestPayment` did not pay: `cancelled` when the user closed the payment sheet. */
export class PaymentError extends Error {
  constructor(
    readonly errMsg: string,
    readonly cancelled: boolean,
  ) {
    super(errMsg);
    this.name = "PaymentError";
  }
}

/** The payment sheet closed with success but the service has not recorded the payment yet; read the order later. */
export class PaymentPending extends Error {
  constructor(readonly order: Schemas["Order"]) {
    super(`order ${order.out_trade_no} is still ${String(order.status)}`);
    this.name = "PaymentPending";
  }
}

export interface ClientOptions {
  /** Where the service is, e.g. `https://carbon.example.cn` (a domain listed in the mini-program's request domains). */
  baseUrl: string;
  /** The `wx` global; the mini-program's own by default. */
  wx?: WxLike;
  /** A token kept from an earlier login. */
  token?: string;
  /** Called with each new token (and `undefined` on logout), e.g. to keep it with `wx.setStorageSync`. */
  onToken?: (token: string | undefined) => void;
  /** How many times a 503 is retried (default 3). */
  maxRetries?: number;
  /** The longest wait, in seconds, before a retry, whatever `Retry-After` says (default 10). */
  maxRetryAfterS?: number;
  /** The wait before a retry when a 503 has no `Retry-After` (default 1 s). */
  defaultRetryAfterS?: number;
  /** `wx.request`'s timeout in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** After `wx.requestPayment`, how many times the order is read before `PaymentPending` (default 10). */
  paymentPolls?: number;
  /** The pause between those reads, in milliseconds (default 500). */
  paymentPollMs?: number;
}

const IDEMPOTENT = new Set<string>(IDEMPOTENT_POSTS);
const OPEN_STATUSES = new Set(["created", "awaiting_payment"]);

// The mini-program's global, as in every JavaScript host (the ES library types do not declare it).
declare function setTimeout(handler: () => void, ms: number): unknown;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function headerValue(header: Record<string, string | undefined> | undefined, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(header ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** A fresh idempotency key (unique, not secret). */
export function newIdempotencyKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  const hex = () => Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  return `${Date.now().toString(16)}-${hex()}${hex()}${hex()}`;
}

function expandPath(template: string, values: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values?.[name];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(item))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

export class CarbonClient {
  token: string | undefined;
  private readonly options: Required<Omit<ClientOptions, "wx" | "token" | "onToken">> &
    Pick<ClientOptions, "onToken">;
  private readonly wx: WxLike;

  constructor(options: ClientOptions) {
    const wx = options.wx ?? globalWx();
    if (!wx) throw new TypeError("no wx: run in a mini-program or pass options.wx");
    this.wx = wx;
    this.token = options.token;
    this.options = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      onToken: options.onToken,
      maxRetries: options.maxRetries ?? 3,
      maxRetryAfterS: options.maxRetryAfterS ?? 10,
      defaultRetryAfterS: options.defaultRetryAfterS ?? 1,
      timeoutMs: options.timeoutMs ?? 10_000,
      paymentPolls: options.paymentPolls ?? 10,
      paymentPollMs: options.paymentPollMs ?? 500,
    };
  }

  /** Call any operation of the API, typed by its path and method. */
  async call<P extends PathsWith<M>, M extends HttpMethod>(
    method: M,
    path: P,
    ...[options]: {} extends RequestOptions<P, M> ? [RequestOptions<P, M>?] : [RequestOptions<P, M>]
  ): Promise<ResponseOf<P, M>> {
    const given = (options ?? {}) as {
      path?: Record<string, unknown>;
      query?: Record<string, unknown>;
      body?: unknown;
      header?: Record<string, string>;
      idempotencyKey?: string;
    };
    const header: Record<string, string> = { ...given.header };
    if (this.token) header.Authorization = `Bearer ${this.token}`;
    if (method === "post" && IDEMPOTENT.has(path)) {
      header["Idempotency-Key"] = given.idempotencyKey ?? newIdempotencyKey();
    }
    if (given.body !== undefined) header["Content-Type"] = "application/json";
    const url = this.options.baseUrl + expandPath(path, given.path) + queryString(given.query);
    for (let attempt = 0; ; attempt++) {
      const answer = await this.send(method.toUpperCase() as "GET", url, header, given.body);
      if (answer.statusCode >= 200 && answer.statusCode < 300) {
        return (answer.statusCode === 204 ? undefined : answer.data) as ResponseOf<P, M>;
      }
      const retryAfterS = retryAfterSeconds(headerValue(answer.header, "Retry-After"));
      if (answer.statusCode === 503 && attempt < this.options.maxRetries) {
        const waitS = Math.min(retryAfterS ?? this.options.defaultRetryAfterS, this.options.maxRetryAfterS);
        await sleep(waitS * 1000);
        continue;
      }
      const body = answer.data && typeof answer.data === "object" ? (answer.data as Partial<ErrorBody>) : undefined;
      throw new ApiError(answer.statusCode, body, retryAfterS);
    }
  }

  private send(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    header: Record<string, string>,
    data: unknown,
  ): Promise<WxRequestSuccess> {
    return new Promise((resolve, reject) => {
      this.wx.request({
        url,
        method,
        header,
        data,
        dataType: "json",
        timeout: this.options.timeoutMs,
        success: resolve,
        fail: (error: WxError) => reject(new NetworkError(error.errMsg)),
      });
    });
  }

  private setToken(token: string | undefined): void {
    this.token = token;
    this.options.onToken?.(token);
  }

  /** `wx.login`'s code, for `login`. */
  wxLoginCode(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.wx.login({
        success: (result) => resolve(result.code),
        fail: (error) => reject(new NetworkError(error.errMsg)),
      });
    });
  }

  /** Log in with a `wx.login` code (asked of `wx.login` when not given); the token is kept for every later call. */
  async login(code?: string, body: Omit<Schemas["Login"], "code"> = {}): Promise<Schemas["LoginResult"]> {
    const result = await this.call("post", "/api/v1/auth/login", {
      body: { ...body, code: code ?? (await this.wxLoginCode()) },
    });
    this.setToken(result.token);
    return result;
  }

  /** Revoke the token and forget it. */
  async logout(): Promise<void> {
    if (this.token) await this.call("post", "/api/v1/auth/logout");
    this.setToken(undefined);
  }

  /** Place an order; a retry of this call (503) is the same order, through its `Idempotency-Key`. */
  placeOrder(order: Schemas["OrderCreate"], idempotencyKey?: string): Promise<Schemas["PlacedOrder"]> {
    return this.call("post", "/api/v1/orders", { body: order, idempotencyKey });
  }

  /** One of my orders. */
  order(outTradeNo: string): Promise<Schemas["Order"]> {
    return this.call("get", "/api/v1/orders/{out_trade_no}", { path: { out_trade_no: outTradeNo } });
  }

  /** Hand `request_payment` to `wx.requestPayment`; rejects with `PaymentError` (`cancelled` when the user closed it). */
  requestPayment(params: Schemas["RequestPayment"]): Promise<void> {
    const { timeStamp, nonceStr, package: pkg, signType, paySign } = params;
    if (![timeStamp, nonceStr, pkg, signType, paySign].every((v) => typeof v === "string" && v !== "")) {
      return Promise.reject(new TypeError("request_payment lacks timeStamp, nonceStr, package, signType or paySign"));
    }
    return new Promise((resolve, reject) => {
      this.wx.requestPayment({
        timeStamp: timeStamp as string,
        nonceStr: nonceStr as string,
        package: pkg as string,
        signType: signType as string,
        paySign: paySign as string,
        success: () => resolve(),
        fail: (error) => reject(new PaymentError(error.errMsg, /cancel/.test(error.errMsg))),
      });
    });
  }

  /**
   * Pay a placed order through WeChat Pay: its `request_payment` (or, when WeChat Pay could not be
   * reached at placing, a reopened payment) goes to `wx.requestPayment`; then the order is read
   * until the service has recorded the payment. Rejects with `PaymentError` or `PaymentPending`.
   */
  async pay(placed: Schemas["PlacedOrder"]): Promise<Schemas["Order"]> {
    const outTradeNo = placed.order?.out_trade_no;
    if (!outTradeNo) throw new TypeError("the placed order has no out_trade_no");
    let params = placed.request_payment;
    if (!params || !("package" in params)) {
      params = (
        await this.call("post", "/api/v1/orders/{out_trade_no}/payment", { path: { out_trade_no: outTradeNo } })
      ).request_payment;
    }
    await this.requestPayment(params as Schemas["RequestPayment"]);
    let order = await this.order(outTradeNo);
    for (let poll = 1; OPEN_STATUSES.has(String(order.status)) && poll < this.options.paymentPolls; poll++) {
      await sleep(this.options.paymentPollMs);
      order = await this.order(outTradeNo);
    }
    if (OPEN_STATUSES.has(String(order.status))) throw new PaymentPending(order);
    return order;
  }

  /** The embedded default only (sandbox payments, never production): pay an order without WeChat Pay. */
  sandboxPay(outTradeNo: string): Promise<Schemas["Order"]> {
    return this.call("post", "/api/v1/sandbox/orders/{out_trade_no}/pay", { path: { out_trade_no: outTradeNo } });
  }

  /** The certificate of a fulfilled order of mine: the newest valid one of its grams issued since it was placed. */
  async certificateOf(order: Schemas["Order"]): Promise<Schemas["Certificate"] | undefined> {
    const placedAt = Date.parse(order.created_at ?? "") - 1000;
    const mine = await this.call("get", "/api/v1/me/certificates", { query: { page_size: 20 } });
    return mine.find(
      (certificate) =>
        certificate.grams === order.grams &&
        String(certificate.status) === "valid" &&
        !(Date.parse(certificate.issued_at ?? "") < placedAt),
    );
  }

  /** Anyone's check of a certificate, by the verification code printed on it. */
  verify(code: string): Promise<Schemas["Verification"]> {
    return this.call("get", "/api/v1/certificates/{code}", { path: { code } });
  }
}
