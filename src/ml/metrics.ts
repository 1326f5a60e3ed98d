/**
 * Evaluation metrics (definitions as in scikit-learn's user guide): accuracy, balanced accuracy
 * (mean per-class recall), per-class precision/recall/F1 (0 when undefined), confusion matrix
 * (rows = true class, columns = predicted), ROC AUC (Mann–Whitney, ties count one half),
 * MAE, RMSE and R². No metric is ever NaN: an undefined value is reported as null.
 */
export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted]. */
  confusion: number[][];
  /** Binary labels only (positive class = the second class); null otherwise or when one class is absent. */
  rocAuc: number | null;
  rows: number;
}

export interface RegressionMetrics {
  mae: number;
  rmse: number;
  /** null when the true values are constant. */
  r2: number | null;
  rows: number;
}

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]!]![predicted[i]!]! += 1;
  return m;
}

/** ROC AUC of `scores` for the positives (`truth === 1`): P(score⁺ > score⁻) + ½·P(tie). */
export function rocAuc(truth: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const order = Array.from({ length: truth.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1; // average 1-based rank of the tie block
    for (let t = i; t <= j; t++) {
      if (truth[order[t]!] === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = truth.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function classificationMetrics(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: readonly string[],
  positiveScores?: ArrayLike<number>,
): ClassificationMetrics {
  const k = classNames.length;
  const confusion = confusionMatrix(truth, predicted, k);
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion[c]![c]!;
  const n = truth.length;
  const perClass: ClassMetrics[] = classNames.map((name, c) => {
    const tp = confusion[c]![c]!;
    let support = 0;
    let predictedCount = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c]![j]!;
      predictedCount += confusion[j]![c]!;
    }
    const precision = predictedCount > 0 ? tp / predictedCount : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: name, precision, recall, f1, support };
  });
  const present = perClass.filter((c) => c.support > 0);
  return {
    accuracy: n > 0 ? correct / n : 0,
    balancedAccuracy: present.length > 0 ? present.reduce((s, c) => s + c.recall, 0) / present.length : 0,
    macroF1: present.length > 0 ? present.reduce((s, c) => s + c.f1, 0) / present.length : 0,
    perClass,
    confusion,
    rocAuc: k === 2 && positiveScores ? rocAuc(truth, positiveScores) : null,
    rows: n,
  };
}

export function regressionMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>): RegressionMetrics {
  const n = truth.length;
  let abs = 0;
  let sq = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += truth[i]!;
  mean /= Math.max(1, n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i]! - truth[i]!;
    abs += Math.abs(e);
    sq += e * e;
    total += (truth[i]! - mean) ** 2;
  }
  return {
    mae: n > 0 ? abs / n : 0,
    rmse: n > 0 ? Math.sqrt(sq / n) : 0,
    r2: total > 0 ? 1 - sq / total : null,
    rows: n,
  };
}
