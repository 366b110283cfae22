// End-of-run checks on a training history: warnings, not errors (a short smoke run may legitimately end near chance),
// kept on the result (and in the checkpoint) so a notebook can show them and a reader sees which runs are suspect.

/** Slack above chance: half the chance rate, at most 5 points (10 classes: 15%; 2 classes: 55%; 100 classes: 1.5%). */
export function chanceThreshold(numClasses: number): number {
  return 1 / numClasses + Math.min(0.05, 0.5 / numClasses);
}

/** Relative rise of the last epoch's total loss over the first epoch's that counts as rising (noise allowance). */
export const RISE_TOLERANCE = 0.01;

export interface TrainingCheck {
  /** 'loss-not-rising': the last epoch's mean total loss is not above the first's; 'above-chance': final accuracies beat chance. */
  name: 'loss-not-rising' | 'above-chance';
  pass: boolean;
  /** One sentence: what was measured and, on failure, what to change. */
  detail: string;
}

interface HistoryLike { epoch: number; loss: number; trainAcc: number; testAcc: number }

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The end-of-run checks for a history of at least one epoch. */
export function trainingChecks(history: readonly HistoryLike[], numClasses: number): TrainingCheck[] {
  if (history.length === 0) throw new Error('trainingChecks: the history is empty (train at least one epoch)');
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new Error(`trainingChecks: numClasses must be an integer >= 2, got ${numClasses}`);
  const first = history[0];
  const last = history[history.length - 1];
  const checks: TrainingCheck[] = [];
  if (history.length < 2) {
    checks.push({ name: 'loss-not-rising', pass: true, detail: 'one epoch: the loss trend is not checked' });
  } else if (last.loss > first.loss * (1 + RISE_TOLERANCE)) {
    checks.push({
      name: 'loss-not-rising', pass: false,
      detail: `total loss rose from ${first.loss.toPrecision(4)} (epoch ${first.epoch}) to ${last.loss.toPrecision(4)} (epoch ${last.epoch}): ` +
        'training is unstable; lower the learning rate or the penalty weight (or warm the penalty up)',
    });
  } else {
    checks.push({ name: 'loss-not-rising', pass: true, detail: `total loss ${first.loss.toPrecision(4)} (epoch ${first.epoch}) -> ${last.loss.toPrecision(4)} (epoch ${last.epoch})` });
  }
  const limit = chanceThreshold(numClasses);
  const accs = `train ${pct(last.trainAcc)}, test ${pct(last.testAcc)}`;
  if (last.trainAcc <= limit || last.testAcc <= limit) {
    checks.push({
      name: 'above-chance', pass: false,
      detail: `final accuracy (${accs}) is near chance (${pct(1 / numClasses)} for ${numClasses} classes; threshold ${pct(limit)}): ` +
        'the model learned next to nothing; check the learning rate and the term weights, or train longer',
    });
  } else {
    checks.push({ name: 'above-chance', pass: true, detail: `final accuracy ${accs} (chance threshold ${pct(limit)})` });
  }
  return checks;
}
