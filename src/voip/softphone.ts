import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QoelabError } from "../errors.ts";
import { spawnTool } from "../netlab/index.ts";

/*
 * A baresip softphone (Debian's baresip 1.0.x) on a lab host, driven through its stdio menu:
 * peer to peer SIP over UDP (no registrar), auto-answer, G.711 only, no sound card — the source
 * plays a WAV (aufile), the player is a null bridge (aubridge), and the sndfile module dumps what
 * went into the encoder (…-enc.wav, what the phone sent) and what came out of the decoder
 * (…-dec.wav, what it received). The recipe is the one src/packet/test-support/baresip-call.ts
 * worked out; see test-data/SOURCE.md.
 */

export const BARESIP_MODULE_DIR = "/usr/lib/baresip/modules";
const REQUIRED_MODULES = ["stdio", "g711", "aufile", "aubridge", "sndfile", "account", "menu"];
const STEP_TIMEOUT_MS = 15_000;

export interface SoftphoneOptions {
  /** Network namespace to run in (a lab host's), or none for the current one. */
  netns?: string;
  /** SIP user name (alice, bob, …) and the address the phone listens on. */
  user: string;
  address: string;
  sipPort?: number;
  /** Working directory: config, recordings and log go here (created). */
  dir: string;
  codec?: "pcmu" | "pcma";
  /** 8 kHz mono 16-bit WAV the phone plays into the call. */
  source: string;
  /** RTP port range (default 40000-40999); baresip takes an even port, RTCP the next one. */
  rtpPorts?: [number, number];
}

export interface SoftphoneRecordings {
  /** What the decoder produced: the audio this phone received (8 kHz mono s16 WAV). */
  received?: string;
  /** What was handed to the encoder: the audio this phone sent. */
  sent?: string;
}

/** Throws a coded error naming the Debian package when baresip or a needed module is missing. */
export function requireBaresip(): void {
  const onPath = (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, "baresip")));
  if (!onPath) {
    throw new QoelabError(
      "VOIP_TOOL_MISSING",
      'baresip: not found on PATH (Debian/Ubuntu package "baresip": apt-get install baresip)',
      { tool: "baresip", package: "baresip" },
    );
  }
  const missing = REQUIRED_MODULES.filter((m) => !existsSync(join(BARESIP_MODULE_DIR, `${m}.so`)));
  if (missing.length > 0) {
    throw new QoelabError(
      "VOIP_TOOL_MISSING",
      `baresip: modules ${missing.join(", ")} missing from ${BARESIP_MODULE_DIR} (Debian/Ubuntu package "baresip-core": apt-get install baresip)`,
      { tool: "baresip", package: "baresip", missing },
    );
  }
}

/** The config file of one phone (what `recordBaresipCall`, the test recipe, writes too). */
export function baresipConfig(
  options: Pick<SoftphoneOptions, "address" | "sipPort" | "source" | "rtpPorts">,
  recordDir: string,
): string {
  const [low, high] = options.rtpPorts ?? [40000, 40999];
  return [
    "poll_method epoll",
    `sip_listen ${options.address}:${options.sipPort ?? 5060}`,
    "audio_player aubridge,qoelab-null",
    `audio_source aufile,${options.source}`,
    "audio_alert aubridge,qoelab-null",
    `rtp_ports ${low}-${high}`,
    "rtcp_mux no",
    "jitter_buffer_delay 1-10",
    `module_path ${BARESIP_MODULE_DIR}`,
    "module stdio.so",
    "module g711.so",
    "module aufile.so",
    "module aubridge.so",
    "module sndfile.so",
    "module_tmp account.so",
    "module_app menu.so",
    `snd_path ${recordDir}`,
    "",
  ].join("\n");
}

export class Softphone {
  readonly options: SoftphoneOptions;
  readonly configDir: string;
  readonly recordDir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private text = "";
  private readonly listeners = new Set<() => void>();

  constructor(options: SoftphoneOptions) {
    this.options = options;
    this.configDir = join(options.dir, "config");
    this.recordDir = join(options.dir, "rec");
    this.logFile = join(options.dir, "baresip.log");
  }

  /** SIP URI other phones dial. */
  get uri(): string {
    const port = this.options.sipPort ?? 5060;
    return `sip:${this.options.user}@${this.options.address}${port === 5060 ? "" : `:${port}`}`;
  }

  /** Writes the config and starts baresip; `dial` is called at start-up (`-e "d URI"`). */
  async start(options: { dial?: string } = {}): Promise<void> {
    requireBaresip();
    const codec = this.options.codec ?? "pcmu";
    rmSync(this.recordDir, { recursive: true, force: true });
    mkdirSync(this.configDir, { recursive: true });
    mkdirSync(this.recordDir, { recursive: true });
    writeFileSync(join(this.configDir, "config"), baresipConfig(this.options, this.recordDir));
    const port = this.options.sipPort ?? 5060;
    writeFileSync(
      join(this.configDir, "accounts"),
      `<sip:${this.options.user}@${this.options.address}${port === 5060 ? "" : `:${port}`}>;regint=0;answermode=auto;audio_codecs=${codec}\n`,
    );
    const argv = ["baresip", "-f", this.configDir];
    if (options.dial) argv.push("-e", `d ${options.dial}`);
    const child = spawnTool(argv, { netns: this.options.netns, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    const onData = (chunk: Buffer): void => {
      this.text += chunk.toString("utf8");
      for (const l of this.listeners) l();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.stdin?.on("error", () => undefined);
    child.on("error", (error) => {
      this.text += `\n[spawn error: ${error.message}]\n`;
      for (const l of this.listeners) l();
    });
    child.on("exit", () => {
      for (const l of this.listeners) l();
    });
    await this.waitFor(/baresip is ready/, "baresip to start");
  }

  /** Everything baresip printed so far. */
  output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches `pattern` (or fails when baresip exits or the time is up). */
  waitFor(pattern: RegExp, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = (): void => {
        if (pattern.test(this.text)) {
          done();
          resolve();
        } else if (!this.running) {
          done();
          reject(this.failure(`exited before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  waitEstablished(timeoutMs?: number): Promise<void> {
    return this.waitFor(/Call established/, "the call to be established", timeoutMs);
  }

  waitTerminated(timeoutMs?: number): Promise<void> {
    return this.waitFor(/terminated/, "the call to end", timeoutMs);
  }

  /** Types a menu command (e.g. "/hangup") on baresip's stdin. */
  command(line: string): void {
    this.child?.stdin?.write(`${line}\n`);
  }

  hangup(): void {
    this.command("/hangup");
  }

  /** Asks baresip to quit, waits for it (killing it after `timeoutMs`), and writes the log. */
  async quit(timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      this.command("/quit");
      const exited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve(true);
        });
        if (!this.running) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      if (!exited) this.kill();
    }
    this.writeLog();
  }

  /** Kills baresip at once (cleanup after a failure). */
  kill(): void {
    if (this.child && this.running) this.child.kill("SIGKILL");
    this.writeLog();
  }

  private writeLog(): void {
    try {
      writeFileSync(this.logFile, this.text);
    } catch {
      // the directory may be gone already
    }
  }

  /**
   * Moves sndfile's dumps to `<dir>/received.wav` and `<dir>/sent.wav` (after quit: baresip
   * finalizes the WAV headers when the call's audio stops).
   */
  recordings(): SoftphoneRecordings {
    const out: SoftphoneRecordings = {};
    if (!existsSync(this.recordDir)) return out;
    for (const file of readdirSync(this.recordDir)) {
      const kind = file.endsWith("-dec.wav") ? "received" : file.endsWith("-enc.wav") ? "sent" : undefined;
      if (!kind || out[kind]) continue;
      const target = join(this.options.dir, `${kind}.wav`);
      renameSync(join(this.recordDir, file), target);
      out[kind] = target;
    }
    rmSync(this.recordDir, { recursive: true, force: true });
    return out;
  }

  private failure(what: string): QoelabError {
    return new QoelabError(
      "VOIP_SOFTPHONE_FAILED",
      `baresip ${this.options.user}@${this.options.address}${this.options.netns ? ` in ${this.options.netns}` : ""}: ${what}; last output:\n${this.text.slice(-1500)}`,
      { user: this.options.user, netns: this.options.netns, log: this.logFile },
    );
  }
}
