/**
 * The service as `bin/serve` runs it (the embedded default: SQLite, in-process Redis, sandbox
 * login and payments, demo data), started for the tests on a free loopback port with its own
 * database file, and stopped after them.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const REPO = path.resolve(__dirname, "..", "..", "..", "..");

export interface Service {
  baseUrl: string;
  stop(): Promise<void>;
}

// Settings the surrounding shell may carry that would take the service off its embedded default.
const FOREIGN = /^(CARBON_|DATABASE_|REDIS_|WECHAT|PAYMENT_|PUBLIC_BASE_URL$|INPROCESS_JOBS$|GUNICORN_|BIND$)/;

const PREPARE = `
import sys
from alembic.config import main as alembic
from flask.cli import main as flask

alembic(["upgrade", "head"])
sys.argv = ["flask", "demo", "load", "--if-empty"]
flask()
`;

function python(): string {
  const interpreter = process.env.CARBON_PYTHON ?? path.join(REPO, ".venv", "bin", "python");
  if (!fs.existsSync(interpreter)) {
    throw new Error(`no Python at ${interpreter}: run bin/setup first (or set CARBON_PYTHON)`);
  }
  return interpreter;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(interpreter: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(interpreter, args, { cwd: REPO, env, timeout: 60_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${args.join(" ")} failed: ${stderr || error.message}`)) : resolve(),
    );
  });
}

async function waitUntilLive(baseUrl: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service stopped (${child.exitCode}):\n${log()}`);
    try {
      const answer = await fetch(`${baseUrl}/health/live`);
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the service did not come up within 30 s:\n${log()}`);
}

export async function startService(): Promise<Service> {
  const interpreter = python();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "carbon-client-"));
  const port = await freePort();
  const bind = `127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !FOREIGN.test(name)),
  );
  Object.assign(env, {
    CARBON_PROFILE: "default",
    DATABASE_URL: `sqlite:///${path.join(dir, "carbon.sqlite3")}`,
    REDIS_URL: "",
    BIND: bind,
    FLASK_APP: "wsgi",
  });
  // bin/serve's `alembic upgrade head` and `flask demo load --if-empty`, in one interpreter.
  await run(interpreter, ["-c", PREPARE], env);
  // bin/serve's server: one process (the in-process Redis stand-in is not shared between processes).
  const child = spawn(
    interpreter,
    ["-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py", "--workers", "1", "--threads", "4", "--bind", bind],
    { cwd: REPO, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const baseUrl = `http://${bind}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilLive(baseUrl, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, stop };
}
