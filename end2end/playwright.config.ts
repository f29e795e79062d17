import { defineConfig } from "@playwright/test";
import { execSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// Each run owns its servers on free ports with fresh databases. Values go into the environment
// so Playwright's worker processes, which load this file again, see the same ones.
function freePort(): string {
  return execSync(
    `node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"`,
  )
    .toString()
    .trim();
}
process.env.E2E_PORT ??= freePort();
process.env.E2E_SHORT_PORT ??= freePort();
process.env.E2E_DATA ??= mkdtempSync(join(tmpdir(), "latchkey-e2e-"));
process.env.E2E_MAIL_PORT ??= freePort();
process.env.E2E_MAIL_DIR ??= join(process.env.E2E_DATA, "mail");

const root = resolve(__dirname, "..");
const binary = process.env.LATCHKEY_BIN ?? join(root, "target/release/latchkey");

function server(port: string, name: string, extra: Record<string, string> = {}) {
  return {
    command: binary,
    cwd: root,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: "target/site",
      DATA_DIR: join(process.env.E2E_DATA!, name),
      RUST_LOG: "warn",
      ...extra,
    },
  };
}

export const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;
export const shortLivedURL = `http://127.0.0.1:${process.env.E2E_SHORT_PORT}`;

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    // The SMTP sink the default server mails to (the specs read its inbox folder).
    {
      command: "node mail-sink.js",
      cwd: __dirname,
      port: Number(process.env.E2E_MAIL_PORT),
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      env: { MAIL_PORT: process.env.E2E_MAIL_PORT!, MAIL_DIR: process.env.E2E_MAIL_DIR! },
    },
    server(process.env.E2E_PORT!, "default", { SMTP_URL: `smtp://127.0.0.1:${process.env.E2E_MAIL_PORT}` }),
    // Access tokens that expire after two seconds, for the transparent-refresh spec.
    server(process.env.E2E_SHORT_PORT!, "short", { ACCESS_TOKEN_TTL: "2" }),
  ],
});
