/** Generating the types afresh, and comparing them with the committed ones. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { REPO } from "./service";

const CLIENT = path.join(REPO, "clients", "miniprogram");
const GENERATED = ["schema.d.ts", "idempotent-posts.ts"];

/** Generate the types into a new temporary directory, from `spec` or from docs/openapi.json. */
export function generate(spec?: string): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "carbon-client-types-"));
  execFileSync(process.execPath, [path.join(CLIENT, "scripts", "generate.js"), out, ...(spec ? [spec] : [])]);
  return out;
}

/** Each generated file in `out` is byte for byte the committed one in src/. */
export function assertCommitted(out: string, what: string): void {
  for (const name of GENERATED) {
    const committed = fs.readFileSync(path.join(CLIENT, "src", name), "utf8");
    const fresh = fs.readFileSync(path.join(out, name), "utf8");
    assert.ok(
      committed === fresh,
      `src/${name} differs from what ${what} gives: run \`npm run generate\` in clients/miniprogram and commit it`,
    );
  }
}
