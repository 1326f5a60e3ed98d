export type { ReplayOptions, ReplayPacket, ReplayResult, ReplaySource, ReplayStreamInfo } from "./capture-replay.ts";
export { readReplaySource, replayCapture } from "./capture-replay.ts";
export type { LossModel, LossModelSpec } from "./loss-models.ts";
export { createLossModel, formatLossModel, parseLossModel, parseProbability } from "./loss-models.ts";
export type { ProbeHeader } from "./probe-payload.ts";
export {
  clockId,
  monotonicNs,
  PROBE_HEADER_BYTES,
  PROBE_MAGIC,
  readProbeHeader,
  writeProbeHeader,
} from "./probe-payload.ts";
export type { DelayDistribution } from "./random.ts";
export { drawDelay, Random, seededShuffle } from "./random.ts";
export type { RtpCodec, SendRtpOptions, SendRtpResult, TelephoneAudio } from "./rtp-sender.ts";
export { parseRtpCodec, RTP_CODECS, readTelephoneWav, sendRtp, telephoneAudio } from "./rtp-sender.ts";
export type { ScheduleOptions, TimingReport } from "./scheduler.ts";
export { percentile, runSchedule } from "./scheduler.ts";
export type { GenUdpOptions, GenUdpResult, IntervalDist } from "./udp-gen.ts";
export { genUdp, intervalDrawer, parseIntervalDist } from "./udp-gen.ts";
export type { Distribution, RecvUdpOptions, RecvUdpResult, UdpReceiver } from "./udp-recv.ts";
export { recvUdp, startRecvUdp } from "./udp-recv.ts";
export { formatRate, formatTime, parsePacketRate, parseRate, parseSize, parseTime } from "./units.ts";
