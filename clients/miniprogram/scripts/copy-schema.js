// tsc emits no .d.ts it did not write: ship the generated OpenAPI types beside the built client.
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
fs.copyFileSync(path.join(root, "src", "schema.d.ts"), path.join(root, "dist", "schema.d.ts"));
