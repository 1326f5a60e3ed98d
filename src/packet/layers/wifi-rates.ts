/*
 * 802.11 data rates (Mb/s) from the modulation and coding parameters a radio header reports
 * (radiotap's MCS and VHT fields), computed as tshark 4.0 computes them.
 *
 * A rate is data bits per OFDM symbol (NDBPS) over the symbol's duration: 4 µs with the long
 * (800 ns) guard interval, 3.6 µs with the short (400 ns) one. NDBPS = data subcarriers × coded
 * bits per subcarrier (summed over the spatial streams) × coding rate.
 *
 * HT (IEEE 802.11-2016 §19.5, tables 19-27 to 19-41): MCS 0–31 are MCS 0–7 (BPSK 1/2 … 64-QAM 5/6)
 * on 1–4 streams of the same modulation, MCS 32 the 40 MHz duplicate mode, MCS 33–76 unequal
 * modulation on 2–4 streams. 52 data subcarriers at 20 MHz, 108 at 40 MHz.
 *
 * VHT (§21.5, tables 21-30 to 21-61): MCS 0–9 (BPSK 1/2 … 256-QAM 5/6) on 1–8 streams; 52, 108, 234
 * and 468 data subcarriers at 20, 40, 80 and 160 (or 80+80) MHz. A few MCS/streams/bandwidth
 * combinations do not exist: their NDBPS would not split evenly over the BCC encoders.
 *
 * tshark keeps a rate as a single-precision float, which its field strings print with 6
 * significant digits: the functions here return that float (Math.fround) so the digits agree.
 */

/** HT, VHT: data subcarriers at 20 MHz, the base of the NDBPS tables. */
const SUBCARRIERS_20 = 52;
/** Data subcarriers by VHT bandwidth: 20, 40, 80, 160 MHz. */
const VHT_SUBCARRIERS = [52, 108, 234, 468] as const;
const VHT_BANDWIDTHS = [20, 40, 80, 160] as const;

/** Coded bits per subcarrier and coding rate (numerator, denominator) of MCS 0–9 (HT MCS 0–7 on one stream). */
const MODULATION: readonly (readonly [bits: number, num: number, den: number])[] = [
  [1, 1, 2], // BPSK 1/2
  [2, 1, 2], // QPSK 1/2
  [2, 3, 4], // QPSK 3/4
  [4, 1, 2], // 16-QAM 1/2
  [4, 3, 4], // 16-QAM 3/4
  [6, 2, 3], // 64-QAM 2/3
  [6, 3, 4], // 64-QAM 3/4
  [6, 5, 6], // 64-QAM 5/6
  [8, 3, 4], // 256-QAM 3/4 (VHT)
  [8, 5, 6], // 256-QAM 5/6 (VHT)
];
const MODULATION_NAMES = [
  "BPSK",
  "QPSK",
  "QPSK",
  "16-QAM",
  "16-QAM",
  "64-QAM",
  "64-QAM",
  "64-QAM",
  "256-QAM",
  "256-QAM",
];

/**
 * Unequal modulation (HT MCS 33–76): coded bits per subcarrier of each stream (6: 64-QAM,
 * 4: 16-QAM, 2: QPSK), in MCS order; each list is used at coding rate 1/2, then again at 3/4.
 */
const UNEQUAL: readonly (readonly (readonly number[])[])[] = [
  // MCS 33–35 (1/2), 36–38 (3/4): two streams
  [
    [4, 2],
    [6, 2],
    [6, 4],
  ],
  // MCS 39–45, 46–52: three streams
  [
    [4, 2, 2],
    [4, 4, 2],
    [6, 2, 2],
    [6, 4, 2],
    [6, 4, 4],
    [6, 6, 2],
    [6, 6, 4],
  ],
  // MCS 53–64, 65–76: four streams
  [
    [4, 2, 2, 2],
    [4, 4, 2, 2],
    [4, 4, 4, 2],
    [6, 2, 2, 2],
    [6, 4, 2, 2],
    [6, 4, 4, 2],
    [6, 4, 4, 4],
    [6, 6, 2, 2],
    [6, 6, 4, 2],
    [6, 6, 4, 4],
    [6, 6, 6, 2],
    [6, 6, 6, 4],
  ],
];

export const HT_MAX_MCS = 76;

/** An HT MCS index's streams and modulation(s), e.g. `{ streams: 2, modulation: "64-QAM+16-QAM 3/4" }`; undefined above 76. */
export function htMcsInfo(mcs: number): { streams: number; modulation: string; ndbps20: number } | undefined {
  if (!Number.isInteger(mcs) || mcs < 0 || mcs > HT_MAX_MCS) return undefined;
  if (mcs < 32) {
    const [bits, num, den] = MODULATION[mcs % 8]!;
    const streams = Math.floor(mcs / 8) + 1;
    const modulation = `${MODULATION_NAMES[mcs % 8]} ${num}/${den}`;
    return { streams, modulation, ndbps20: (SUBCARRIERS_20 * bits * streams * num) / den };
  }
  // MCS 32, the 40 MHz duplicate of BPSK 1/2 (the standard: 6 Mb/s, 40 MHz only): tshark counts
  // 12 data bits per 20 MHz symbol, so at 40 MHz 12 × 108/52 / 4 µs = 6.23 Mb/s, at 20 MHz 3 Mb/s.
  if (mcs === 32) return { streams: 1, modulation: "BPSK 1/2 (duplicate)", ndbps20: 12 };
  let first = 33;
  for (const group of UNEQUAL) {
    const index = mcs - first;
    if (index < 2 * group.length) {
      const streams = group[index % group.length]!;
      const [num, den] = index < group.length ? [1, 2] : [3, 4];
      const bits = streams.reduce((a, b) => a + b, 0);
      const names = streams.map((b) => (b === 6 ? "64-QAM" : b === 4 ? "16-QAM" : "QPSK"));
      return {
        streams: streams.length,
        modulation: `${names.join("+")} ${num}/${den}`,
        ndbps20: (SUBCARRIERS_20 * bits * num) / den,
      };
    }
    first += 2 * group.length;
  }
  return undefined;
}

/**
 * HT data rate (Mb/s, a float as tshark keeps it) of MCS `mcs` (0–76) at 20 or 40 MHz, long or
 * short GI; undefined for an index above 76. HT MCS 7 at 20 MHz: 65, short GI 72.2222.
 */
export function htDataRate(mcs: number, bandwidth40: boolean, shortGi: boolean): number | undefined {
  const info = htMcsInfo(mcs);
  if (info === undefined) return undefined;
  return Math.fround((info.ndbps20 * (bandwidth40 ? 108 : SUBCARRIERS_20)) / SUBCARRIERS_20 / (shortGi ? 3.6 : 4));
}

/**
 * The channel width (20, 40, 80, 160 MHz) the PPDU of radiotap VHT bandwidth code `code` (0–25)
 * occupies: 0 20 MHz, 1 40, 2–3 20 in a 40, 4 80, 5–6 40 in an 80, 7–10 20 in an 80, 11 160,
 * 12–13 80 in a 160, 14–17 40 in a 160, 18–25 20 in a 160; undefined for codes above 25.
 */
export function vhtBandwidth(code: number): 20 | 40 | 80 | 160 | undefined {
  if (code === 0 || (code >= 2 && code <= 3) || (code >= 7 && code <= 10) || (code >= 18 && code <= 25)) return 20;
  if (code === 1 || code === 5 || code === 6 || (code >= 14 && code <= 17)) return 40;
  if (code === 4 || code === 12 || code === 13) return 80;
  if (code === 11) return 160;
  return undefined;
}

/** VHT MCS/streams/bandwidth combinations the standard leaves out (§21.5), as "MHz:MCS" → streams. */
const VHT_EXCLUDED: Readonly<Record<string, readonly number[]>> = {
  "20:9": [1, 2, 4, 5, 7, 8],
  "80:6": [3, 7],
  "80:9": [6],
  "160:9": [3],
};

export const VHT_MAX_MCS = 9;
export const VHT_MAX_STREAMS = 8;

/** VHT MCS 0–9 modulation and coding rate, e.g. "256-QAM 5/6". */
export function vhtModulation(mcs: number): string | undefined {
  const m = MODULATION[mcs];
  return m === undefined ? undefined : `${MODULATION_NAMES[mcs]} ${m[1]}/${m[2]}`;
}

/** Whether MCS `mcs` on `streams` spatial streams at `bandwidth` MHz is an 802.11ac rate. */
export function vhtValid(mcs: number, streams: number, bandwidth: number): boolean {
  if (!Number.isInteger(mcs) || mcs < 0 || mcs > VHT_MAX_MCS) return false;
  if (!Number.isInteger(streams) || streams < 1 || streams > VHT_MAX_STREAMS) return false;
  if (!VHT_BANDWIDTHS.includes(bandwidth as 20)) return false;
  return !(VHT_EXCLUDED[`${bandwidth}:${mcs}`] ?? []).includes(streams);
}

/**
 * VHT data rate (Mb/s) of MCS `mcs` on `streams` spatial streams at `bandwidth` MHz (20, 40, 80,
 * 160), long or short GI, or undefined when the combination is not an 802.11ac rate (MCS 9 on
 * one stream at 20 MHz). As tshark's 802.11 radio information (`wlan_radio.data_rate`) computes
 * it: the one-stream rate as a float, times the streams. MCS 9, 1 stream, 80 MHz, short GI: 433.333.
 */
export function vhtDataRate(mcs: number, streams: number, bandwidth: number, shortGi: boolean): number | undefined {
  if (!vhtValid(mcs, streams, bandwidth)) return undefined;
  const [bits, num, den] = MODULATION[mcs]!;
  const subcarriers = VHT_SUBCARRIERS[VHT_BANDWIDTHS.indexOf(bandwidth as 20)]!;
  // NDBPS at 20 MHz as a float (MCS 9's is 346.67), scaled to the bandwidth's subcarriers.
  const ndbps = Math.fround(Math.fround((SUBCARRIERS_20 * bits * num) / den) * subcarriers);
  const oneStream = Math.fround(ndbps / (shortGi ? 3.6 : 4) / SUBCARRIERS_20);
  return Math.fround(oneStream * streams);
}

/**
 * The per-user VHT data rate tshark's radiotap dissector shows (`radiotap.vht.datarate.N`): the
 * one-stream rate rounded to 0.1 Mb/s (the standard's tables print them so) times the streams,
 * as a float, for MCS 0–9 and 1–8 streams at any bandwidth, valid combination or not (MCS 9 on
 * one stream at 20 MHz: 86.7; on 3 streams: 260.1 where the standard gives 260). Undefined for
 * MCS above 9, no streams or more than 8.
 */
export function vhtTableRate(mcs: number, streams: number, bandwidth: number, shortGi: boolean): number | undefined {
  const m = MODULATION[mcs];
  const index = VHT_BANDWIDTHS.indexOf(bandwidth as 20);
  if (m === undefined || index < 0 || !Number.isInteger(streams) || streams < 1 || streams > VHT_MAX_STREAMS)
    return undefined;
  const [bits, num, den] = m;
  // Tenths of Mb/s: subcarriers × bits × rate / symbol time (3.6 or 4 µs), in integers until the
  // last division, so a rate on a half tenth (29.25) rounds up as the tables do (29.3).
  const tenths = Math.round((VHT_SUBCARRIERS[index]! * bits * num * 100) / (den * (shortGi ? 36 : 40)));
  return Math.fround(Math.fround(tenths / 10) * streams);
}

/*
 * HE (IEEE 802.11ax-2021 §27.5): 12.8 µs symbols plus a 0.8, 1.6 or 3.2 µs guard interval; MCS 0–9
 * as VHT's plus 1024-QAM 3/4 and 5/6 (MCS 10, 11). Radiotap's "bandwidth/RU allocation" code:
 * 0–3 a 20, 40, 80 or 160 MHz PPDU (234, 468, 980, 1960 data subcarriers), 4–9 a 26, 52, 106,
 * 242, 484 or 996-tone resource unit (24, 48, 102, 234, 468, 980), 10 a 2×996-tone one.
 */

/** Data subcarriers by radiotap HE bandwidth/RU code 0–9. */
const HE_SUBCARRIERS = [234, 468, 980, 1960, 24, 48, 102, 234, 468, 980] as const;
const HE_BWRU_NAMES = [
  "20 MHz",
  "40 MHz",
  "80 MHz",
  "160 MHz",
  "26-tone RU",
  "52-tone RU",
  "106-tone RU",
  "242-tone RU",
  "484-tone RU",
  "996-tone RU",
  "2x996-tone RU",
];
/** Symbol duration in tenths of µs by radiotap HE GI code: 0.8, 1.6, 3.2 µs guard interval. */
const HE_SYMBOL_TENTHS = [136, 144, 160] as const;
const HE_GI_NAMES = ["0.8 µs", "1.6 µs", "3.2 µs"];
const HE_MODULATION: readonly (readonly [bits: number, num: number, den: number])[] = [
  ...MODULATION,
  [10, 3, 4], // 1024-QAM 3/4
  [10, 5, 6], // 1024-QAM 5/6
];

/** Radiotap HE bandwidth/RU code's name ("80 MHz", "106-tone RU"), GI code's ("0.8 µs"), MCS's modulation. */
export function heParameterNames(
  mcs: number,
  bwru: number,
  gi: number,
): { bwru?: string; gi?: string; modulation?: string } {
  const m = HE_MODULATION[mcs];
  const modulation = m === undefined ? undefined : `${mcs < 10 ? MODULATION_NAMES[mcs] : "1024-QAM"} ${m[1]}/${m[2]}`;
  return { bwru: HE_BWRU_NAMES[bwru], gi: HE_GI_NAMES[gi], modulation };
}

/**
 * HE data rate (Mb/s) of MCS `mcs` (0–11) on `nsts` space-time streams (1–8) in radiotap
 * bandwidth/RU `bwru` (0–9) with guard interval code `gi` (0–2), rounded to 0.1 Mb/s, as tshark's
 * 802.11 radio information (`wlan_radio.data_rate`) gives it from its HE SU and OFDMA rate tables;
 * undefined otherwise (a 2×996-tone RU included). MCS 9, 2 streams, 80 MHz, 0.8 µs: 960.8.
 */
export function heDataRate(mcs: number, nsts: number, bwru: number, gi: number): number | undefined {
  const m = HE_MODULATION[mcs];
  const subcarriers = HE_SUBCARRIERS[bwru];
  const symbol = HE_SYMBOL_TENTHS[gi];
  if (m === undefined || subcarriers === undefined || symbol === undefined) return undefined;
  if (!Number.isInteger(nsts) || nsts < 1 || nsts > 8) return undefined;
  const [bits, num, den] = m;
  // Tenths of Mb/s, in integers until the last division (a half tenth rounds up, as the tables do).
  const tenths = Math.round((subcarriers * bits * num * nsts * 100) / (den * symbol));
  return Math.fround(tenths / 10);
}
