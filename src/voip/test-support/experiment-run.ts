import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { labDown } from "../../netlab/index.ts";
import { runVoipExperiment, type VoipExperimentOptions, type VoipExperimentResult } from "../experiment.ts";

/** One experiment run shared by the tests of a describe block. */
export interface ExperimentRun {
  /** The run's temporary folder (its output is `out/` inside). */
  readonly dir: string;
  readonly lab: string;
  /** The run's result (read inside a test: it is set before the first one). */
  readonly result: VoipExperimentResult;
}

/**
 * Runs a voip experiment once before the tests of the enclosing describe block, in a temporary
 * folder named after `tag` and in lab `lab`; after them the lab is taken down (whatever the run
 * left) and the folder removed. `options` may prepare inputs in the folder (a speech file).
 */
export function experimentRun(
  tag: string,
  lab: string,
  options: (
    dir: string,
  ) => Omit<VoipExperimentOptions, "out" | "lab"> | Promise<Omit<VoipExperimentOptions, "out" | "lab">>,
): ExperimentRun {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-${tag}-${process.pid}-`));
  let result: VoipExperimentResult | undefined;
  before(async () => {
    result = await runVoipExperiment({ ...(await options(dir)), out: join(dir, "out"), lab });
  });
  after(async () => {
    await labDown(lab).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    lab,
    get result() {
      if (result === undefined) throw new Error(`experimentRun ${tag}: the run did not finish`);
      return result;
    },
  };
}
