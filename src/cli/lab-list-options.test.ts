import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { runQoelab } from "./test-support/run-qoelab.ts";

// Comma-separated options read the same in every command (splitList): "a, b" is a and b. `lab up
// --uplink-allow` used to keep the space and reject " 172.31.0.0/16" (serve and collect trimmed it).
describe("lab up --uplink-allow with spaces", {
  skip: process.getuid?.() !== 0 ? "needs root (lab namespaces)" : false,
}, () => {
  const lab = "tlist";
  after(() => runQoelab(["lab", "down", "--lab", lab]));

  it("takes every prefix of a spaced list and lets only those through the uplink", () => {
    const up = runQoelab(
      ["lab", "up", "--lab", lab, "--router", "--uplink", "--uplink-allow", "10.9.0.0/16, 172.31.0.0/16 ,", "--json"],
      { timeout: 120_000 },
    );
    assert.equal(up.status, 0, up.stderr);
    const rules = execFileSync("ip", ["netns", "exec", `qoelab-${lab}-router`, "iptables-save"], { encoding: "utf8" });
    // The router's FORWARD rules toward the uplink (they live in its namespace).
    for (const prefix of ["10.9.0.0/16", "172.31.0.0/16"])
      assert.match(rules, new RegExp(`-d ${prefix.replace(/\./g, "\\.")} .*-j ACCEPT`), `a rule for ${prefix}`);
  });
});
