export type { ImpairAssignment, ImpairCallOptions, ImpairResult, ImpairShowRow } from "./impair/impair.ts";
export {
  impair,
  impairBackends,
  impairClear,
  impairShow,
  registerImpairBackend,
  resolveTarget,
  splitTargetRef,
  targetOf,
} from "./impair/impair.ts";
export type { ImpairBackend, ImpairTarget, Journal, UndoStep } from "./impair/impair-backend.ts";
export { directionFromImpair, emulatorBackend } from "./impair/impair-emulator.ts";
export type { NetemSupport } from "./impair/impair-netem.ts";
export { detectNetem, netemArgs } from "./impair/impair-netem.ts";
export type { ImpairArgs, ImpairOption, ImpairSpec } from "./impair/impair-spec.ts";
export { describeOption, IMPAIR_OPTIONS, parseImpairSpec, specOptions } from "./impair/impair-spec.ts";
export type { RelayConfig, RelayStats } from "./impair/udp-relay.ts";
export { UdpRelay } from "./impair/udp-relay.ts";
export { clearUplinkShape, shapeUplink } from "./impair/uplink-shape.ts";
export type {
  ExecOptions,
  HostRole,
  Lab,
  LabConfig,
  LabHost,
  LabLink,
  LabOptions,
  LabStatus,
  LabUplink,
  UplinkConfig,
  UplinkOptions,
} from "./lab/lab.ts";
export {
  getLab,
  labDown,
  labHost,
  labStatus,
  labUp,
  netnsName,
  onLabTeardown,
  parseHostRef,
  planLab,
} from "./lab/lab.ts";
export { killLabProcesses } from "./lab/lab-processes.ts";
export type { RunOptions, RunResult } from "./lab/run.ts";
export { inNetns, nodeModuleCommand, qoelabCommand, run, runOk, spawnTool } from "./lab/run.ts";
export type { LinkEmulator, LinkEmulatorOptions } from "./link-emulator/link-emulator.ts";
export {
  emulatorTunName,
  findLinkEmulator,
  planEmulatedLink,
  startLinkEmulator,
  stopLinkEmulator,
  trafficIface,
  tunDevicePath,
} from "./link-emulator/link-emulator.ts";
export type { TunAddon } from "./link-emulator/link-emulator-addon.ts";
export { loadTunAddon, tunAddonAvailable } from "./link-emulator/link-emulator-addon.ts";
export type { DirectionSummary, LogFormat } from "./link-emulator/link-emulator-log.ts";
export type { LinkEmulatorSummary } from "./link-emulator/link-emulator-main.ts";
export type { RateStep } from "./link-emulator/link-emulator-rate.ts";
export { parseTrace, traceFromSteps } from "./link-emulator/link-emulator-rate.ts";
export type { DirectionSpec, LinkEmulatorSpec, QueueSpec } from "./link-emulator/link-emulator-spec.ts";
export type {
  ShaperDaemonOptions,
  ShaperdPlayer,
  ShaperdProcess,
  ShaperdServices,
  ShaperdUser,
} from "./shaperd/shaperd.ts";
export { DEFAULT_SHAPERD_SOCKET, ShaperClient, startShaperDaemon } from "./shaperd/shaperd.ts";
export type { ShaperArgs, ShaperOp, ShaperRequest, ShaperResults } from "./shaperd/shaperd-protocol.ts";
export { parseShaperRequest } from "./shaperd/shaperd-protocol.ts";
