/**
 * The part of the mini-program's `wx` global this client uses (a structural subset of WeChat's own
 * typings, so that a page's real `wx` and a test's fake both fit).
 */

export interface WxRequestSuccess {
  data: unknown;
  statusCode: number;
  header: Record<string, string | undefined>;
}

export interface WxError {
  errMsg: string;
}

export interface WxRequestOptions {
  url: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  data?: unknown;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: "json";
  success?: (result: WxRequestSuccess) => void;
  fail?: (error: WxError) => void;
}

export interface WxRequestPaymentOptions {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
  success?: (result: WxError) => void;
  fail?: (error: WxError) => void;
}

export interface WxLoginOptions {
  success?: (result: { code: string; errMsg: string }) => void;
  fail?: (error: WxError) => void;
}

export interface WxLike {
  request(options: WxRequestOptions): unknown;
  requestPayment(options: WxRequestPaymentOptions): unknown;
  login(options: WxLoginOptions): unknown;
}

/** The `wx` global of the mini-program, if there is one. */
export function globalWx(): WxLike | undefined {
  return (globalThis as { wx?: WxLike }).wx;
}
