/**
 * RFC 3550 §6.4.1 interarrival jitter, the one estimator (voip's RTP stream analysis, generator's
 * UDP receiver): with D the difference between two packets' transit times (arrival − send time,
 * in any one unit), J ← J + (|D| − J)/16, computed as (15·J + |D|)/16 as tshark does.
 */
export function nextJitter(jitter: number, transitDifference: number): number {
  return (15 * jitter + Math.abs(transitDifference)) / 16;
}
