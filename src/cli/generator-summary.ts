import type { TimingReport } from "../generator/index.ts";
import type { FieldRow } from "./output.ts";

/*
 * The rows the generators' tables (gen udp, gen rtp, replay) share, so that what every sender
 * counts and how it kept its deadlines reads the same in each.
 */

/** A value as the generators' tables print it: six decimals (a nanosecond, for milliseconds). */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** What a sender scheduled, sent, and left out by its loss model. */
export function sendCountRows(result: { packets: number; sent: number; droppedByModel: number }): FieldRow[] {
  return [
    ["packets", result.packets],
    ["sent", result.sent],
    ["dropped by loss model", result.droppedByModel],
  ];
}

/** How far the sends fell from their deadlines: the mean and the 99th percentile. */
export function timingErrorRows(timing: TimingReport): FieldRow[] {
  return [
    ["timing error mean (ms)", round6(timing.meanErrorMs)],
    ["timing error p99 (ms)", round6(timing.p99ErrorMs)],
  ];
}
