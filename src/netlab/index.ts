export type { ImpairAssignment, ImpairCallOptions, ImpairResult, ImpairShowRow } from "./impair.ts";
export {
  impair,
  impairBackends,
  impairClear,
  impairShow,
  registerImpairBackend,
  resolveTarget,
  splitTargetRef,
  targetOf,
} from "./impair.ts";
export type { ImpairBackend, ImpairTarget, Journal, UndoStep } from "./impair-backend.ts";
export { directionFromImpair, emulatorBackend } from "./impair-emulator.ts";
export type { NetemSupport } from "./impair-netem.ts";
export { detectNetem, netemArgs } from "./impair-netem.ts";
export type { ImpairArgs, ImpairOption, ImpairSpec } from "./impair-spec.ts";
export { describeOption, IMPAIR_OPTIONS, parseImpairSpec, specOptions } from "./impair-spec.ts";
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
} from "./lab.ts";
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
} from "./lab.ts";
export { killLabProcesses } from "./lab-processes.ts";
export type { LinkEmulator, LinkEmulatorOptions } from "./link-emulator.ts";
export {
  emulatorTunName,
  findLinkEmulator,
  planEmulatedLink,
  startLinkEmulator,
  stopLinkEmulator,
  trafficIface,
  tunDevicePath,
} from "./link-emulator.ts";
export type { TunAddon } from "./link-emulator-addon.ts";
export { loadTunAddon, tunAddonAvailable } from "./link-emulator-addon.ts";
export type { DirectionSummary, LogFormat } from "./link-emulator-log.ts";
export type { LinkEmulatorSummary } from "./link-emulator-main.ts";
export type { RateStep } from "./link-emulator-rate.ts";
export { parseTrace, traceFromSteps } from "./link-emulator-rate.ts";
export type { DirectionSpec, LinkEmulatorSpec, QueueSpec } from "./link-emulator-spec.ts";
export type { RunOptions, RunResult } from "./run.ts";
export { inNetns, nodeModuleCommand, qoelabCommand, run, runOk, spawnTool } from "./run.ts";
export type { ShaperDaemonOptions, ShaperdPlayer, ShaperdProcess, ShaperdServices, ShaperdUser } from "./shaperd.ts";
export { DEFAULT_SHAPERD_SOCKET, ShaperClient, startShaperDaemon } from "./shaperd.ts";
export type { ShaperArgs, ShaperOp, ShaperRequest, ShaperResults } from "./shaperd-protocol.ts";
export { parseShaperRequest } from "./shaperd-protocol.ts";
export type { RelayConfig, RelayStats } from "./udp-relay.ts";
export { UdpRelay } from "./udp-relay.ts";
export { clearUplinkShape, shapeUplink } from "./uplink-shape.ts";
