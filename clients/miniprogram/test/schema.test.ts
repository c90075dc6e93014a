/** The committed types are what openapi-typescript makes of the published description (docs/openapi.json). */

import fs from "node:fs";
import { test } from "node:test";

import { assertCommitted, generate } from "./generated";

test("the committed types are generated from docs/openapi.json", () => {
  const out = generate();
  try {
    assertCommitted(out, "docs/openapi.json");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
