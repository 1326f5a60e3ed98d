import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runQoelab } from "./test-support/run-qoelab.ts";

describe("qoelab shell", () => {
  it("has the builder and the send functions in scope", () => {
    const script = [
      'const p = ipv4({ dst: "10.77.0.9" }).over(udp({ dport: 53 }))',
      "p.summary()",
      "[typeof send, typeof sr, typeof sr1, typeof sniff, typeof rdpcap, typeof wrpcap].join(' ')",
    ].join("\n");
    const r = runQoelab(["shell"], { input: `${script}\n.exit\n` });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /'IP 10\.77\.0\.1 > 10\.77\.0\.9 \/ UDP 5004 > 53 len=0'/);
    assert.match(r.stdout, /'function function function function function function'/);
  });

  it("evaluates piped lines in turn: a line sees what an awaited line before it assigned", () => {
    const script = ["x = await new Promise((r) => setTimeout(() => r(5), 300))", "x + 1"].join("\n");
    const r = runQoelab(["shell"], { input: `${script}\n.exit\n` });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /ReferenceError/);
    assert.match(r.stdout, /qoelab> 5\nqoelab> 6\n/);
  });

  it("refuses --netns and --host together", () => {
    const r = runQoelab(["shell", "--netns", "x", "--host", "client"], { input: ".exit\n" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /give --netns or --host, not both/);
  });

  it("completes names of the shell's scope", async () => {
    const { PassThrough } = await import("node:stream");
    const repl = await import("node:repl");
    const { shellContext } = await import("./shell.ts");
    const input = new PassThrough();
    const server = repl.start({ prompt: "", input, output: new PassThrough(), terminal: false });
    Object.assign(server.context, shellContext());
    const [names] = await new Promise<[string[], string]>((resolve, reject) =>
      server.completer("sr", (error: Error | null | undefined, result: unknown) =>
        error ? reject(error) : resolve(result as [string[], string]),
      ),
    );
    server.close();
    assert.ok(names.includes("sr1") && names.includes("sr"), names.join(" "));
  });
});
