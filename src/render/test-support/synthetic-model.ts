import { type ModelFile, modelFileFromTraining, type TrainResult, trainOnDataset } from "../../ml/index.ts";
import { syntheticSessions } from "../../ml/test-support/synthetic.ts";

/** A model cross-validated on ml's synthetic sessions (stalls follow throughput), as the views draw it. */
export async function syntheticModel(): Promise<{ result: TrainResult; file: ModelFile }> {
  const result = await trainOnDataset(syntheticSessions(150, 1), { label: "stalled", model: "gbdt", cv: 3, seed: 2 });
  return { result, file: modelFileFromTraining(result, { source: "synthetic" }) };
}
