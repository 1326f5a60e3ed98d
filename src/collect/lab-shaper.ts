import { impair, impairClear, type Lab, targetOf } from "../netlab/index.ts";
import type { LinkShaper } from "./lab-operator.ts";
import { impairmentOf, type TrainingRow } from "./training-store.ts";

/** Loss goes to the link emulator, whose random choices follow the seed (iptables' do not). */
const SEEDED_LOSS = { prefer: ["emulator"] };

/**
 * Shapes what the router sends to the client (the video's downstream) with the lab's impairment
 * backends: tbf for the rate (netem where the kernel has it), so the client's capture sees only
 * delivered packets. A training's delay and loss ride along on the same target (the link emulator
 * serves delay where the kernel has no netem, and a training's loss with its rate).
 */
export const labShaper: LinkShaper = {
  async shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string> {
    const extra = impairmentOf(training);
    const result = await impair(
      targetOf(lab, "router:client-side"),
      {
        rate: Math.round(mbps * 1_000_000),
        ...(extra.delay !== undefined ? { delay: extra.delay } : {}),
        ...(extra.loss !== undefined ? { loss: { kind: "bernoulli", p: extra.loss } } : {}),
        ...(extra.limit !== undefined ? { limit: extra.limit } : {}),
        // One training's sessions drop the same way at the same position in their traffic.
        ...(extra.loss !== undefined ? { seed: training.seed } : {}),
      },
      extra.loss !== undefined ? SEEDED_LOSS : {},
    );
    return result.assignments.map((a) => `${a.option} ${a.value} by ${a.backend}`).join(", ");
  },
  async clear(lab: Lab): Promise<void> {
    await impairClear(lab.name);
  },
};
