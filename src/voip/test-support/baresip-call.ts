import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { QoelabError } from "../../errors.ts";
import { baresipConfig } from "../softphone.ts";

/**
 * Records a real SIP call between two baresip softphones (Debian's baresip 1.0.x) in two network
 * namespaces joined by a veth pair, for tests that need real signalling and media. Needs root,
 * iproute2, iptables, tcpdump, sox and baresip.
 *
 * Recipe (also in test-data/SOURCE.md):
 * - namespaces `qbA<id>` (caller alice, 10.77.0.1/24) and `qbB<id>` (callee bob, 10.77.0.2/24),
 *   veth `qvA<id>`/`qvB<id>`; unique per process and call, deleted afterwards even on failure.
 * - each side: `baresip -f DIR` with a minimal `config`: SIP on <addr>:5060 over UDP, RTP ports
 *   40000-40999, no rtcp-mux, modules g711 (PCMU/PCMA), aufile (the source plays the WAV,
 *   resampled by sox to 8 kHz mono s16), aubridge (a null player: no sound card), sndfile (dumps
 *   what is handed to the encoder and what comes out of the decoder as WAVs) and stdio+menu (commands
 *   on stdin); account `<sip:alice@10.77.0.1>;regint=0;answermode=auto;audio_codecs=pcmu` (no
 *   registrar, peer to peer; the callee answers at once). With `transport: "tcp"` the account and
 *   the callee URI carry `;transport=tcp` (baresip dials over the account's transport).
 * - tcpdump runs in the callee namespace on its veth (Ethernet link type, `-U -s 0`, `udp or tcp`),
 *   so with loss the capture holds only the packets that arrived.
 * - loss: in the caller namespace, `iptables -A OUTPUT -p udp --sport 40000:40999 -m u32 --u32
 *   "0>>22&0x3C@8>>16&0x7F=0:71" -m statistic --mode random --probability P -j DROP`: only RTP
 *   (payload type < 72) from caller to callee is dropped; SIP and RTCP pass.
 * - the caller dials with `-e "d sip:bob@10.77.0.2"`; after "Call established" we wait `seconds`
 *   and type `/hangup` (BYE), then `/quit` to both.
 */
export interface BaresipCallOptions {
  /** Any WAV sox can read; converted to 8 kHz mono 16-bit before use. */
  wav: string;
  /** Talk time after the call is established. RTCP SR/RR come every ~5 s: use ≥ 6 s to see them. */
  seconds: number;
  /** Random loss on caller → callee RTP, in percent (0–100). */
  lossPercent?: number;
  /** Output directory (created). */
  dir: string;
  /** Codec both sides offer (default pcmu). */
  codec?: "pcmu" | "pcma";
  /** SIP transport (default udp); media is RTP over UDP either way. */
  transport?: "udp" | "tcp";
}

export interface BaresipCallResult {
  /** Capture of the whole call, taken on the callee's interface. */
  pcap: string;
  /** What the caller's decoder produced (the audio it received), 8 kHz mono s16 WAV. */
  callerRecording?: string;
  /** What the callee's decoder produced: compare with audio extracted from the capture. */
  calleeRecording?: string;
  /** The PCM the caller handed to its encoder. */
  callerSent?: string;
  /** The PCM the callee handed to its encoder. */
  calleeSent?: string;
  /** The 8 kHz mono WAV the caller played. */
  sourceWav: string;
  callerAddress: string;
  calleeAddress: string;
  callerLog: string;
  calleeLog: string;
  /** Packets the iptables loss rule dropped (0 without loss). */
  droppedPackets: number;
}

const CALLER_ADDRESS = "10.77.0.1";
const CALLEE_ADDRESS = "10.77.0.2";
const STEP_TIMEOUT_MS = 15_000;
let callCounter = 0;

export async function recordBaresipCall(options: BaresipCallOptions): Promise<BaresipCallResult> {
  for (const tool of ["baresip", "tcpdump", "ip", "iptables", "sox"]) requireTool(tool);
  const seconds = options.seconds;
  if (!(seconds > 0 && seconds < 600)) {
    throw new QoelabError("TEST_BAD_OPTION", `recordBaresipCall: seconds must be in (0, 600), got ${seconds}`);
  }
  const loss = options.lossPercent ?? 0;
  if (!(loss >= 0 && loss <= 100)) {
    throw new QoelabError("TEST_BAD_OPTION", `recordBaresipCall: lossPercent must be in [0, 100], got ${loss}`);
  }
  const codec = options.codec ?? "pcmu";
  const uriParams = options.transport === "tcp" ? ";transport=tcp" : "";
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const id = `${process.pid % 1_000_000}${callCounter++}`;
  const nsA = `qbA${id}`;
  const nsB = `qbB${id}`;
  const vethA = `qvA${id}`;
  const vethB = `qvB${id}`;
  const sourceWav = join(dir, "source-8k.wav");
  execFileSync("sox", [options.wav, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", sourceWav]);

  const sides = [
    { name: "caller", user: "alice", ns: nsA, address: CALLER_ADDRESS },
    { name: "callee", user: "bob", ns: nsB, address: CALLEE_ADDRESS },
  ] as const;
  for (const side of sides) {
    const configDir = join(dir, `${side.name}-config`);
    const recDir = join(dir, `${side.name}-rec`);
    rmSync(recDir, { recursive: true, force: true });
    mkdirSync(configDir, { recursive: true });
    mkdirSync(recDir, { recursive: true });
    writeFileSync(join(configDir, "config"), baresipConfig({ address: side.address, source: sourceWav }, recDir));
    writeFileSync(
      join(configDir, "accounts"),
      `<sip:${side.user}@${side.address}${uriParams}>;regint=0;answermode=auto;audio_codecs=${codec}\n`,
    );
  }

  const processes: ChildProcess[] = [];
  const pcap = join(dir, "call.pcap");
  const callerLog = join(dir, "caller.log");
  const calleeLog = join(dir, "callee.log");
  let droppedPackets = 0;
  try {
    ip("netns", "add", nsA);
    ip("netns", "add", nsB);
    ip("link", "add", vethA, "type", "veth", "peer", "name", vethB);
    ip("link", "set", vethA, "netns", nsA);
    ip("link", "set", vethB, "netns", nsB);
    ip("-n", nsA, "addr", "add", `${CALLER_ADDRESS}/24`, "dev", vethA);
    ip("-n", nsB, "addr", "add", `${CALLEE_ADDRESS}/24`, "dev", vethB);
    for (const [ns, veth] of [
      [nsA, vethA],
      [nsB, vethB],
    ] as const) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", veth, "up");
    }
    if (loss > 0) {
      execFileSync("ip", [
        "netns",
        "exec",
        nsA,
        "iptables",
        "-A",
        "OUTPUT",
        "-p",
        "udp",
        "--sport",
        "40000:40999",
        "-m",
        "u32",
        "--u32",
        "0>>22&0x3C@8>>16&0x7F=0:71",
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        String(loss / 100),
        "-j",
        "DROP",
      ]);
    }

    const tcpdump = watch(
      spawn(
        "ip",
        [
          "netns",
          "exec",
          nsB,
          "tcpdump",
          "-i",
          vethB,
          "--immediate-mode",
          "-U",
          "-s",
          "0",
          "-n",
          "-w",
          pcap,
          "udp or tcp",
        ],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    processes.push(tcpdump.child);
    await tcpdump.waitFor(/listening on/, "tcpdump to start");

    const callee = watch(
      spawn("ip", ["netns", "exec", nsB, "baresip", "-f", join(dir, "callee-config")], {
        stdio: ["pipe", "pipe", "pipe"],
      }),
    );
    processes.push(callee.child);
    await callee.waitFor(/baresip is ready/, "the callee baresip to start");

    const caller = watch(
      spawn(
        "ip",
        ["netns", "exec", nsA, "baresip", "-f", join(dir, "caller-config"), "-e", `d sip:bob@${CALLEE_ADDRESS}`],
        { stdio: ["pipe", "pipe", "pipe"] },
      ),
    );
    processes.push(caller.child);
    await caller.waitFor(/Call established/, "the call to be established");
    await sleep(seconds * 1000);
    caller.child.stdin?.write("/hangup\n");
    await callee.waitFor(/terminated/, "the callee to see the BYE");
    // Let the last RTCP BYEs and the 200 OK reach the capture.
    await sleep(300);
    caller.child.stdin?.write("/quit\n");
    callee.child.stdin?.write("/quit\n");
    await Promise.all([caller.exited(STEP_TIMEOUT_MS), callee.exited(STEP_TIMEOUT_MS)]);
    writeFileSync(callerLog, caller.output());
    writeFileSync(calleeLog, callee.output());
    tcpdump.child.kill("SIGINT");
    await tcpdump.exited(STEP_TIMEOUT_MS);
    if (loss > 0) droppedPackets = readDropCount(nsA);
  } finally {
    for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const ns of [nsA, nsB]) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
  }
  const result: BaresipCallResult = {
    pcap,
    sourceWav,
    callerAddress: CALLER_ADDRESS,
    calleeAddress: CALLEE_ADDRESS,
    callerLog,
    calleeLog,
    droppedPackets,
  };
  for (const side of sides) {
    const recDir = join(dir, `${side.name}-rec`);
    for (const file of readdirSync(recDir)) {
      const kind = file.endsWith("-dec.wav") ? "Recording" : file.endsWith("-enc.wav") ? "Sent" : undefined;
      if (!kind) continue;
      const target = join(dir, `${side.name}-${kind === "Recording" ? "received" : "sent"}.wav`);
      renameSync(join(recDir, file), target);
      result[`${side.name}${kind}`] = target;
    }
    rmSync(recDir, { recursive: true, force: true });
  }
  return result;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function requireTool(tool: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    throw new QoelabError("TEST_TOOL_MISSING", `recordBaresipCall: ${tool} is not installed (run scripts/setup.sh)`, {
      tool,
    });
  }
}

function readDropCount(ns: string): number {
  const out = execFileSync("ip", ["netns", "exec", ns, "iptables", "-L", "OUTPUT", "-v", "-n", "-x"], {
    encoding: "utf8",
  });
  const line = out.split("\n").find((l) => l.includes("DROP"));
  return line ? Number(line.trim().split(/\s+/)[0]) : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Watched {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, what: string): Promise<void>;
  exited(timeoutMs: number): Promise<void>;
}

/** Collects a child's stdout+stderr and lets the caller wait for a line or for exit. */
function watch(child: ChildProcess): Watched {
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString("utf8");
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  child.on("exit", () => {
    for (const l of listeners) l();
  });
  return {
    child,
    output: () => text,
    waitFor(pattern, what) {
      return new Promise((resolveWait, reject) => {
        const check = (): void => {
          if (pattern.test(text)) {
            done();
            resolveWait();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(failure(`exited before ${what}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(failure(`timed out waiting for ${what}`));
        }, STEP_TIMEOUT_MS);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    exited(timeoutMs) {
      return new Promise((resolveExit, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
        const timer = setTimeout(() => reject(failure("did not exit")), timeoutMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolveExit();
        });
      });
    },
  };
  function failure(what: string): QoelabError {
    return new QoelabError(
      "TEST_BARESIP_CALL_FAILED",
      `recordBaresipCall: ${child.spawnargs.slice(3, 5).join(" ")} ${what}; output:\n${text.slice(-2000)}`,
    );
  }
}

/** True when the machine can run `recordBaresipCall` (root and the tools present). */
export function canRecordBaresipCall(): boolean {
  return process.getuid?.() === 0 && existsSync("/usr/lib/baresip/modules/aufile.so");
}
