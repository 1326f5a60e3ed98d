import { QoelabError } from "../errors.ts";
import type { Random } from "./random.ts";

/*
 * Packet loss models with netem's parameter meaning (tc-netem(8) "loss random|state|gemodel").
 * Each decision is one method call on preallocated state: no allocation per packet.
 * A model consumes random numbers from the Random it was built with, so the same seed and the same
 * packet sequence give the same drops.
 */

export interface LossModel {
  readonly kind: "none" | "bernoulli" | "gilbert" | "markov4";
  /** Decides the fate of the next packet: true = lost. */
  lose(): boolean;
  /** Back to the initial state (the random generator is not rewound). */
  reset(): void;
  /** Long-run fraction of packets lost. */
  stationaryLoss(): number;
}

export type LossModelSpec =
  | { kind: "none" }
  | { kind: "bernoulli"; p: number }
  /** Gilbert–Elliott: p = P(good→bad), r = P(bad→good), lossGood = 1−k, lossBad = 1−h. */
  | { kind: "gilbert"; p: number; r: number; lossGood: number; lossBad: number }
  /** netem "loss state p13 p31 p32 p23 p14" (Salsano et al.'s 4-state Markov chain). */
  | { kind: "markov4"; p13: number; p31: number; p32: number; p23: number; p14: number };

class NoLoss implements LossModel {
  readonly kind = "none" as const;
  lose(): boolean {
    return false;
  }
  reset(): void {}
  stationaryLoss(): number {
    return 0;
  }
}

class Bernoulli implements LossModel {
  readonly kind = "bernoulli" as const;
  constructor(
    private readonly rng: Random,
    private readonly p: number,
  ) {}
  lose(): boolean {
    return this.rng.next() < this.p;
  }
  reset(): void {}
  stationaryLoss(): number {
    return this.p;
  }
}

/**
 * Two states, good and bad. For each packet the chain first moves (good→bad with p, bad→good
 * with r), then the packet is lost with the new state's loss probability — as netem does.
 */
class GilbertElliott implements LossModel {
  readonly kind = "gilbert" as const;
  private bad = false;
  constructor(
    private readonly rng: Random,
    private readonly p: number,
    private readonly r: number,
    private readonly lossGood: number,
    private readonly lossBad: number,
  ) {}
  lose(): boolean {
    if (this.bad) {
      if (this.rng.next() < this.r) this.bad = false;
    } else if (this.rng.next() < this.p) {
      this.bad = true;
    }
    const q = this.bad ? this.lossBad : this.lossGood;
    // Skip the draw for certain outcomes so plain Gilbert uses one number per packet.
    if (q >= 1) return true;
    if (q <= 0) return false;
    return this.rng.next() < q;
  }
  reset(): void {
    this.bad = false;
  }
  stationaryLoss(): number {
    const sum = this.p + this.r;
    if (sum === 0) return this.lossGood;
    return (this.r / sum) * this.lossGood + (this.p / sum) * this.lossBad;
  }
}

/**
 * netem's 4-state model. States: 1 = packet received in a gap, 2 = received in a burst,
 * 3 = lost in a burst, 4 = isolated loss in a gap. Transitions 1→3 (p13), 1→4 (p14), 3→1 (p31),
 * 3→2 (p32), 2→3 (p23), 4→1 always; a packet is lost when the chain lands in 3 or 4.
 */
class Markov4 implements LossModel {
  readonly kind = "markov4" as const;
  private state = 1;
  constructor(
    private readonly rng: Random,
    private readonly p13: number,
    private readonly p31: number,
    private readonly p32: number,
    private readonly p23: number,
    private readonly p14: number,
  ) {}
  lose(): boolean {
    const u = this.rng.next();
    switch (this.state) {
      case 1:
        if (u < this.p14) this.state = 4;
        else if (u < this.p14 + this.p13) this.state = 3;
        break;
      case 2:
        if (u < this.p23) this.state = 3;
        break;
      case 3:
        if (u < this.p32) this.state = 2;
        else if (u < this.p32 + this.p31) this.state = 1;
        break;
      default:
        this.state = 1;
    }
    return this.state >= 3;
  }
  reset(): void {
    this.state = 1;
  }
  stationaryLoss(): number {
    // Solve the balance equations: π2·p23 = π3·p32, π4 = π1·p14, π1·(p13+p14) = π3·p31 + π4.
    const { p13, p31, p32, p23, p14 } = this;
    if (p13 === 0 && p14 === 0) return 0;
    // Express all in π1: π4 = π1 p14; π3 = π1 p13 / p31 (from π1 p13 = π3 p31); π2 = π3 p32 / p23.
    if (p31 === 0) return p32 === 0 ? 1 : p23 === 0 ? 0 : p23 / (p23 + p32);
    const pi3 = p13 / p31;
    const pi2 = p23 > 0 ? (pi3 * p32) / p23 : p32 > 0 ? Number.POSITIVE_INFINITY : 0;
    if (!Number.isFinite(pi2)) return 0;
    const pi4 = p14;
    const total = 1 + pi2 + pi3 + pi4;
    return (pi3 + pi4) / total;
  }
}

export function createLossModel(spec: LossModelSpec, rng: Random): LossModel {
  switch (spec.kind) {
    case "none":
      return new NoLoss();
    case "bernoulli":
      return spec.p <= 0 ? new NoLoss() : new Bernoulli(rng, spec.p);
    case "gilbert":
      return new GilbertElliott(rng, spec.p, spec.r, spec.lossGood, spec.lossBad);
    case "markov4":
      return new Markov4(rng, spec.p13, spec.p31, spec.p32, spec.p23, spec.p14);
  }
}

/** "1%", "0.5 %" or "0.01" → probability; a bare number is a probability in [0, 1]. */
export function parseProbability(text: string, what: string, code = "GEN_BAD_PROBABILITY"): number {
  const t = text.trim();
  const m = /^([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(%?)$/i.exec(t);
  if (!m) {
    throw new QoelabError(code, `${what} "${text}": expected a percentage like 1% or a probability like 0.01`, {
      field: what,
      value: text,
    });
  }
  const value = Number(m[1]) / (m[2] ? 100 : 1);
  if (!(value >= 0 && value <= 1)) {
    throw new QoelabError(code, `${what} "${text}": must lie between 0 and 100 %`, { field: what, value: text });
  }
  return value;
}

/**
 * Parses a loss model: "bernoulli" (rate from `loss`), "gilbert:p,r[,1-k,1-h]" (Gilbert when only
 * p and r are given: no loss in good, all lost in bad), or "state:p13[,p31[,p32[,p23[,p14]]]]"
 * (netem's defaults for omitted ones: p31 = 1−p13, p32 = 0, p23 = 1, p14 = 0). With a model that has
 * its own parameters, `loss` if given must agree with the model's long-run loss (±0.1 point).
 */
export function parseLossModel(
  text: string | undefined,
  loss: number | undefined,
  code = "GEN_BAD_LOSS_MODEL",
): LossModelSpec {
  const t = (text ?? "bernoulli").trim().toLowerCase();
  const [name, paramText] = t.split(":", 2) as [string, string | undefined];
  const params = paramText === undefined || paramText === "" ? [] : paramText.split(",");
  const prob = (i: number, what: string) => parseProbability(params[i] as string, `loss model ${what}`, code);
  let spec: LossModelSpec;
  switch (name) {
    case "bernoulli":
    case "random":
      if (params.length > 1) throw new QoelabError(code, `loss model "${text}": bernoulli takes at most one parameter`);
      spec = { kind: "bernoulli", p: params.length === 1 ? prob(0, "p") : (loss ?? 0) };
      if (params.length === 1 && loss !== undefined && Math.abs(loss - spec.p) > 1e-9) {
        throw new QoelabError(code, `loss model "${text}" disagrees with --loss ${(loss * 100).toFixed(3)}%`);
      }
      return spec;
    case "gilbert":
    case "gemodel":
    case "ge":
      if (params.length !== 2 && params.length !== 4) {
        throw new QoelabError(code, `loss model "${text}": expected gilbert:p,r or gilbert:p,r,1-k,1-h`, {
          value: text,
        });
      }
      spec = {
        kind: "gilbert",
        p: prob(0, "p"),
        r: prob(1, "r"),
        lossGood: params.length === 4 ? prob(2, "1-k") : 0,
        lossBad: params.length === 4 ? prob(3, "1-h") : 1,
      };
      if (spec.p === 0 && spec.r === 0) throw new QoelabError(code, `loss model "${text}": p and r cannot both be 0`);
      break;
    case "state":
    case "markov":
    case "4state": {
      if (params.length < 1 || params.length > 5) {
        throw new QoelabError(code, `loss model "${text}": expected state:p13[,p31[,p32[,p23[,p14]]]]`, {
          value: text,
        });
      }
      const p13 = prob(0, "p13");
      spec = {
        kind: "markov4",
        p13,
        p31: params.length > 1 ? prob(1, "p31") : 1 - p13,
        p32: params.length > 2 ? prob(2, "p32") : 0,
        p23: params.length > 3 ? prob(3, "p23") : 1,
        p14: params.length > 4 ? prob(4, "p14") : 0,
      };
      if (spec.p13 + spec.p14 > 1 || spec.p31 + spec.p32 > 1) {
        throw new QoelabError(code, `loss model "${text}": outgoing probabilities of a state sum above 1`, {
          value: text,
        });
      }
      break;
    }
    default:
      throw new QoelabError(
        code,
        `loss model "${text}": unknown (use bernoulli, gilbert:p,r[,1-k,1-h] or state:p13[,p31,p32,p23,p14])`,
        { value: text },
      );
  }
  if (loss !== undefined) {
    const model = createLossModel(spec, null as unknown as Random);
    const implied = model.stationaryLoss();
    if (Math.abs(implied - loss) > 0.001) {
      throw new QoelabError(
        code,
        `loss model "${text}" gives ${(implied * 100).toFixed(3)}% loss in the long run, not the ${(loss * 100).toFixed(3)}% of --loss; drop --loss or change the model`,
        { value: text, implied, loss },
      );
    }
  }
  return spec;
}

/** Text form for display ("gilbert:p=1%,r=25%,1-k=0%,1-h=100%"). */
export function formatLossModel(spec: LossModelSpec): string {
  const pc = (v: number) => `${+(v * 100).toPrecision(6)}%`;
  switch (spec.kind) {
    case "none":
      return "none";
    case "bernoulli":
      return `bernoulli:${pc(spec.p)}`;
    case "gilbert":
      return `gilbert:p=${pc(spec.p)},r=${pc(spec.r)},1-k=${pc(spec.lossGood)},1-h=${pc(spec.lossBad)}`;
    case "markov4":
      return `state:p13=${pc(spec.p13)},p31=${pc(spec.p31)},p32=${pc(spec.p32)},p23=${pc(spec.p23)},p14=${pc(spec.p14)}`;
  }
}
