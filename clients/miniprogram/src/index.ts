/** The carbon inclusion API for WeChat mini-programs: a typed client and the generated types. */

export * from "./client";
export type { WxLike } from "./wx";
export type { components, paths } from "./schema";
