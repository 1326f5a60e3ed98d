import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { qoelabArgv } from "./test-support/run-qoelab.ts";

describe("qoelab with its output closed early (| head)", () => {
  it("stops quietly with status 0 instead of an EPIPE stack trace", async () => {
    const child = spawn(
      process.execPath,
      qoelabArgv(["pcap", "show", "test-data/collect/held-out-0.3mbps-session-24.pcap"]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // Read the first line, then close the pipe as head does.
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    assert.equal(status, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  });
});
