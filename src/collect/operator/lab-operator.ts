import type { Lab, LabOptions } from "../../netlab/index.ts";
import type { PlayerBrowser } from "../player/player-browser.ts";
import type { TrainingRow } from "../training/training-store.ts";

/** Shapes the client's downstream link of a lab (router → client) to a rate, or clears it. */
export interface LinkShaper {
  /** Resolves with what was applied ("rate 5Mbit by tbf"), for the log. */
  shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string>;
  clear(lab: Lab): Promise<void>;
}

/** A trace-driven downstream: the trace (already read), where the session starts in it. */
export interface TraceLinkRequest {
  trace: string;
  /** Mahimahi text of the whole trace. */
  text: string;
  offsetS: number;
  /** Where the emulator's log and summary go. */
  outDir: string;
}

/** What the link delivered each second (from the emulator's log) beside what the trace offered. */
export interface TraceLinkResult {
  trace: string;
  offsetS: number;
  /** CLOCK_REALTIME of the emulator's time 0, ms since 1970 (second k is [k, k+1) s after it). */
  epochUnixMs: number;
  deliveredMbps: number[];
  offeredMbps: number[];
  /** Of the offer, what came while the link had nothing to send (the player asked for nothing). */
  idleMbps?: number[];
  /** Packets the link dropped (queue full, loss model), by reason. */
  drops: Record<string, number>;
}

/** The emulator serving a trace session's downstream until the session ends. */
export interface RunningTraceLink {
  readonly epochUnixMs: number;
  /** What it applied, for the log. */
  readonly applied: string;
  /** Stops the emulator (traffic falls back to the plain veth) and reads what it delivered. */
  stop(): Promise<TraceLinkResult>;
}

/** A session's capture on a lab host's interface. */
export interface OperatorCapture {
  readonly file: string;
  readonly pid: number;
  /** Stops the capture; `diedEarly` says why tcpdump ended before it was asked to (killed, failed). */
  stop(): Promise<{ packets: number; diedEarly?: string }>;
}

/**
 * The privileged steps of a person's session beyond the lab operator's (see person-sessions.ts): the
 * browser is on this host, so the lab's uplink is shaped on the router's end and captured on the
 * host's end.
 */
export interface PersonPathOperator {
  shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string>;
  clear(lab: Lab): Promise<void>;
  /** Captures the lab's traffic on the host's end of the uplink. */
  startCapture(lab: Lab, options: { file: string; snaplen: number }): Promise<OperatorCapture>;
}

/**
 * Every privileged step of a collection session, behind one interface: as root the process does
 * them itself (`directLabOperator`), otherwise `qoelab shaperd` does them over its Unix socket
 * (`ShaperdLabOperator`). The orchestrator never touches namespaces, tc or tcpdump directly.
 */
export interface LabOperator extends LinkShaper {
  /** "direct" (this process is root) or "shaperd" (through the daemon), for logs and errors. */
  readonly kind: "direct" | "shaperd";
  /** Where captures may be written: the daemon's directory, or undefined when any will do. */
  readonly captureDir: string | undefined;
  /** A lab slot, with an uplink when asked (router labs; IPv4 only). */
  labUp(options: LabOptions): Promise<Lab>;
  /** Ends whatever still runs in the lab's hosts (a crashed worker's browser, tcpdump, origin); returns their pids. */
  cleanSlot(lab: Lab): Promise<number[]>;
  /** Serves `root` over HTTP on `port` from the lab's server host; a no-op while one already runs there. */
  startOrigin(lab: Lab, root: string, port: number): Promise<void>;
  /**
   * Serves the client's downstream with the link emulator replaying a trace from an offset (with the
   * training's delay and loss); absent where the operator cannot (the shaper daemon).
   */
  shapeTrace?(lab: Lab, request: TraceLinkRequest, training: TrainingRow): Promise<RunningTraceLink>;
  /** Captures on the client's interface into `file` (its directory is made as needed). */
  startCapture(lab: Lab, options: { file: string; snaplen: number; filter?: string }): Promise<OperatorCapture>;
  /** Chromium in the lab's client host, whose player page is answered by the web app. */
  launchPlayer(lab: Lab): Promise<PlayerBrowser>;
  /** Shaping and capture on a lab's uplink, for a person's browser on this host. */
  readonly personPath: PersonPathOperator;
  /** Stops the origins and anything else this operator still holds. */
  close(): Promise<void>;
}
