import { QoelabError } from "../errors.ts";

/**
 * ITU-T G.107 (06/2015) E-model: the transmission rating R of a mouth-to-ear connection,
 *   R = Ro − Is − Id − Ie,eff + A,
 * and its mapping to MOS (conversational quality, estimated: MOS-CQE). Every equation below is the
 * Recommendation's, with the parameter names it uses; defaults are its Table 3 defaults, which give
 * R = 93.2. Codec values (Ie, Bpl) come from ITU-T G.113 Appendix I.
 */

export interface EModelParameters {
  /** Send and receive loudness ratings (dB). */
  SLR: number;
  RLR: number;
  /** Sidetone masking rating and listener sidetone rating (dB). */
  STMR: number;
  LSTR: number;
  /** D-values of the telephone, send and receive side. */
  Ds: number;
  Dr: number;
  /** Talker echo loudness rating (dB) and weighted echo path loss (dB). */
  TELR: number;
  WEPL: number;
  /** Mean one-way delay of the echo path (ms). */
  T: number;
  /** Round-trip delay in a 4-wire loop (ms). */
  Tr: number;
  /** Absolute (mouth-to-ear) one-way delay (ms). */
  Ta: number;
  /** Number of quantisation distortion units. */
  qdu: number;
  /** Equipment impairment factor and packet-loss robustness factor of the codec. */
  Ie: number;
  Bpl: number;
  /** Packet-loss probability in percent, and burst ratio (1 = random loss). */
  Ppl: number;
  BurstR: number;
  /** Circuit noise referred to the 0 dBr point (dBm0p). */
  Nc: number;
  /** Room noise at send and receive side (dB(A)). */
  Ps: number;
  Pr: number;
  /** Noise floor at the receive side (dBmp). */
  Nfor: number;
  /** Advantage factor. */
  A: number;
  /** Delay sensitivity: minimum perceivable delay (ms) and sensitivity class (G.107 §7.3). */
  mT: number;
  sT: number;
}

/** G.107 Table 3 default values (with mT = 100 ms, sT = 1: the "default" delay sensitivity). */
export const G107_DEFAULTS: Readonly<EModelParameters> = Object.freeze({
  SLR: 8,
  RLR: 2,
  STMR: 15,
  LSTR: 18,
  Ds: 3,
  Dr: 3,
  TELR: 65,
  WEPL: 110,
  T: 0,
  Tr: 0,
  Ta: 0,
  qdu: 1,
  Ie: 0,
  Bpl: 4.3,
  Ppl: 0,
  BurstR: 1,
  Nc: -70,
  Ps: 35,
  Pr: 35,
  Nfor: -64,
  A: 0,
  mT: 100,
  sT: 1,
});

export interface EModelResult {
  /**
   * The rating on G.107's scale, 0–100: the sum of the terms clamped to that range. G.107 defines R
   * from 0 (extremely bad) to 100 and maps every R < 0 to MOS 1 and R > 100 to MOS 4.5 (Annex B);
   * a sum outside the range (R −1671 at 91.5 % loss) has no meaning of its own.
   */
  R: number;
  /** Ro − Is − Id − Ie,eff + A before the clamp (equal to R when 0 ≤ R ≤ 100). */
  Rcomputed: number;
  /** MOS-CQE from R (G.107 Annex B). */
  mos: number;
  Ro: number;
  Is: number;
  Iolr: number;
  Ist: number;
  Iq: number;
  Id: number;
  Idte: number;
  Idle: number;
  Idd: number;
  IeEff: number;
  A: number;
  /** The complete parameter set used. */
  parameters: EModelParameters;
}

const log10 = Math.log10;

/** Computes R with any parameters not given at their G.107 defaults. */
export function eModel(overrides: Partial<EModelParameters> = {}): EModelResult {
  const p: EModelParameters = { ...G107_DEFAULTS, ...overrides };
  for (const [name, value] of Object.entries(p)) {
    if (!Number.isFinite(value)) {
      throw new QoelabError(
        "EMODEL_BAD_PARAMETER",
        `E-model parameter ${name} must be a finite number (got ${value})`,
        {
          parameter: name,
        },
      );
    }
  }
  if (p.Ppl < 0 || p.Ppl > 100) {
    throw new QoelabError("EMODEL_BAD_PARAMETER", `E-model packet loss Ppl must be 0–100 % (got ${p.Ppl})`, {
      parameter: "Ppl",
    });
  }
  if (p.BurstR < 1) {
    throw new QoelabError("EMODEL_BAD_PARAMETER", `E-model BurstR must be ≥ 1 (got ${p.BurstR})`, {
      parameter: "BurstR",
    });
  }
  if (p.T < 0 || p.Tr < 0 || p.Ta < 0 || p.qdu < 1 || p.Bpl <= 0) {
    throw new QoelabError("EMODEL_BAD_PARAMETER", "E-model delays must be ≥ 0, qdu ≥ 1 and Bpl > 0", {});
  }

  // §7.2 Basic signal-to-noise ratio Ro.
  const OLR = p.SLR + p.RLR;
  const Nfo = p.Nfor + p.RLR;
  const Pre = p.Pr + 10 * log10(1 + 10 ** ((10 - p.LSTR) / 10));
  const Nor = p.RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2;
  const Nos = p.Ps - p.SLR - p.Ds - 100 + 0.004 * (p.Ps - OLR - p.Ds - 14) ** 2;
  const No = 10 * log10(10 ** (p.Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10));
  const Ro = 15 - 1.5 * (p.SLR + No);

  // §7.3 Simultaneous impairment factor Is = Iolr + Ist + Iq.
  const Xolr = OLR + 0.2 * (64 + No - p.RLR);
  const Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8);
  const STMRo = -10 * log10(10 ** (-p.STMR / 10) + Math.exp(-p.T / 4) * 10 ** (-p.TELR / 10));
  const Ist =
    12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8) -
    28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35) -
    13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) +
    29;
  const Q = 37 - 15 * log10(p.qdu);
  const G = 1.07 + 0.258 * Q + 0.0602 * Q ** 2;
  const Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9;
  const Z = 46 / 30 - G / 40;
  const Iq = 15 * log10(1 + 10 ** Y + 10 ** Z);
  const Is = Iolr + Ist + Iq;

  // §7.4 Delay impairment factor Id = Idte + Idle + Idd.
  const Roe = -1.5 * (No - p.RLR);
  let TERV = p.TELR - 40 * log10((1 + p.T / 10) / (1 + p.T / 150)) + 6 * Math.exp(-0.3 * p.T ** 2);
  if (p.STMR < 9) TERV += Ist / 2; // TERVs: low sidetone masks less of the echo.
  const Re = 80 + 2.5 * (TERV - 14);
  let Idte = ((Roe - Re) / 2 + Math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-p.T));
  if (Idte === 0) Idte = 0; // −0 when T = 0
  if (p.STMR > 20) Idte = Math.sqrt(Idte ** 2 + Ist ** 2); // Idtes for very high sidetone masking.
  const Rle = 10.5 * (p.WEPL + 7) * (p.Tr + 1) ** -0.25;
  const Idle = (Ro - Rle) / 2 + Math.sqrt((Ro - Rle) ** 2 / 4 + 169);
  let Idd = 0;
  if (p.Ta > p.mT) {
    const X = log10(p.Ta / p.mT) / log10(2);
    const e = 6 * p.sT;
    Idd = 25 * ((1 + X ** e) ** (1 / e) - 3 * (1 + (X / 3) ** e) ** (1 / e) + 2);
  }
  const Id = Idte + Idle + Idd;

  // §7.5 Effective equipment impairment factor (random loss when BurstR = 1).
  const IeEff = p.Ie + ((95 - p.Ie) * p.Ppl) / (p.Ppl / p.BurstR + p.Bpl);

  const Rcomputed = Ro - Is - Id - IeEff + p.A;
  const R = Math.min(100, Math.max(0, Rcomputed));
  return {
    R,
    Rcomputed,
    mos: rToMos(Rcomputed),
    Ro,
    Is,
    Iolr,
    Ist,
    Iq,
    Id,
    Idte,
    Idle,
    Idd,
    IeEff,
    A: p.A,
    parameters: p,
  };
}

/**
 * Words to print beside an R that was clamped to G.107's 0–100 scale, or "" when it was not
 * ("computed −1671.2, below G.107's 0–100 scale: shown as 0").
 */
export function rClampNote(result: Pick<EModelResult, "R" | "Rcomputed">): string {
  if (result.R === result.Rcomputed) return "";
  const side = result.Rcomputed < 0 ? "below" : "above";
  return `R computed ${result.Rcomputed.toFixed(1)}, ${side} G.107's 0–100 scale: shown as ${result.R}`;
}

/** G.107 Annex B: R → MOS-CQE. */
export function rToMos(R: number): number {
  if (R < 0) return 1;
  if (R > 100) return 4.5;
  return 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6;
}

/** Equipment impairment of a codec under loss (ITU-T G.113 Appendix I, Tables I.1/I.3). */
export interface CodecImpairment {
  codec: string;
  Ie: number;
  Bpl: number;
  /** Codec frame / lookahead delay to add to the mouth-to-ear delay (ms); 0 for G.711. */
  algorithmicDelayMs: number;
  description: string;
}

const CODEC_IMPAIRMENTS: Record<string, CodecImpairment> = {
  "g711-plc": {
    codec: "g711-plc",
    Ie: 0,
    Bpl: 25.1,
    algorithmicDelayMs: 0,
    description: "G.711 with Appendix I packet loss concealment (G.113 App. I: Ie 0, Bpl 25.1)",
  },
  g711: {
    codec: "g711",
    Ie: 0,
    Bpl: 4.3,
    algorithmicDelayMs: 0,
    description: "G.711 without packet loss concealment (G.113 App. I: Ie 0, Bpl 4.3)",
  },
};

/** Codec names accepted by `codecImpairment` (aliases of G.711: pcmu, pcma, g711u, g711a). */
export const EMODEL_CODECS: readonly string[] = ["g711", "pcmu", "pcma", "g711u", "g711a"];

export function codecImpairment(codec: string, plc: boolean): CodecImpairment {
  const name = codec.trim().toLowerCase();
  if (!EMODEL_CODECS.includes(name)) {
    throw new QoelabError(
      "EMODEL_UNKNOWN_CODEC",
      `E-model: no G.113 impairment values for codec "${codec}" (known: ${EMODEL_CODECS.join(", ")})`,
      { codec },
    );
  }
  return CODEC_IMPAIRMENTS[plc ? "g711-plc" : "g711"]!;
}

/**
 * The loss-concealment assumption behind an E-model value, in words to print beside it: it follows
 * what the audio extraction did (`rtp extract --plc none|g711`), so a score and the audio a
 * listener hears rest on the same receiver.
 */
export function plcAssumption(plc: boolean): { label: string; text: string } {
  return plc
    ? { label: "PLC on", text: "PLC on: losses concealed by G.711 Appendix I (Bpl 25.1)" }
    : { label: "PLC off", text: "PLC off: losses played as silence (Bpl 4.3)" };
}

export interface CallQualityInput {
  codec: string;
  plc: boolean;
  /** Packet loss in percent (network loss plus jitter-buffer discards). */
  lossPercent: number;
  /** Burst ratio; 1 for random loss. */
  burstRatio?: number;
  /** Mouth-to-ear one-way delay (ms). Echo-path delay T = Ta and Tr = 2·Ta (G.107 §A, no 4-wire loop). */
  oneWayDelayMs: number;
}

/**
 * R and MOS of a call: G.107 defaults for everything not measured, the codec's Ie/Bpl, loss and
 * burstiness, and the one-way delay as Ta with T = Ta and Tr = 2·Ta (an echo-free
 * packet path whose echo, if any, is the far end's and controlled to TELR = 65 dB).
 */
export function callQuality(input: CallQualityInput): EModelResult & { codec: CodecImpairment } {
  const codec = codecImpairment(input.codec, input.plc);
  const Ta = input.oneWayDelayMs + codec.algorithmicDelayMs;
  const result = eModel({
    Ie: codec.Ie,
    Bpl: codec.Bpl,
    Ppl: input.lossPercent,
    BurstR: input.burstRatio ?? 1,
    Ta,
    T: Ta,
    Tr: 2 * Ta,
  });
  return { ...result, codec };
}

/**
 * Burst ratio of a loss pattern (G.107 §7.5): BurstR = 1 / (p + q) of the two-state Markov model
 * fitted to it, p = P(lost | previous received), q = P(received | previous lost). Counts are of
 * transitions between consecutive expected packets. Returns 1 when there is no loss or nothing to fit.
 */
export function burstRatio(receivedToLost: number, received: number, lostToReceived: number, lost: number): number {
  if (lost === 0 || received === 0 || receivedToLost === 0) return 1;
  const p = receivedToLost / received;
  const q = lostToReceived > 0 ? lostToReceived / lost : 1 / lost;
  return Math.max(1, 1 / (p + q));
}
