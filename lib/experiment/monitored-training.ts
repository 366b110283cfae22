// trainMethods with a quantity measured on the model after every epoch (and at initialization, epoch 0), e.g. the saliency
// consensus of Adv-GSCT over training. The measurement runs in the trainer's onEpoch hook, AFTER the epoch's wall time is taken,
// so seconds per epoch (the cost comparison) do not include it. Cached checkpoints skip training, so the values are kept in a
// file beside the checkpoint (<checkpoint>.<monitor>.json, tagged with the monitor's key); on a cache hit without that file the
// curve has only epoch 0 and the final epoch (measured on the loaded model), and says so in `monitorNote`.
import * as fs from 'node:fs';
import { createModel } from '../models/zoo';
import type { SequentialModel } from '../models/sequential';
import { train, type TrainConfig } from '../train/trainer';
import { atomicWrite } from '../util/atomic-write';
import type { Method, TrainedModel, TrainMethodsOptions } from './methods';

export interface EpochMonitor {
  /** Short name (file names, logs), letters, digits and '-'. */
  name: string;
  /** Everything the measurement depends on (probe examples, eps, ...): a stored curve is reused only under the same key. */
  key: string;
  /** One number for the model as it is (called in the trainer's hook: must not touch the optimizer or leak tensors). */
  measure: (model: SequentialModel) => number;
}

export interface MonitorPoint {
  epoch: number;
  value: number;
}

export interface MonitoredModel extends TrainedModel {
  /** The monitor after each epoch, epoch 0 = initialization, ascending. */
  monitor: MonitorPoint[];
  /** '' when the curve is complete; else why epochs are missing. */
  monitorNote: string;
}

interface Stored {
  key: string;
  points: MonitorPoint[];
}

function readStored(file: string, key: string): MonitorPoint[] | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Stored;
    return s.key === key && Array.isArray(s.points) ? s.points : undefined;
  } catch {
    return undefined;
  }
}

/** trainMethods (lib/experiment/methods.ts) plus `monitor` measured at initialization and after every epoch. */
export async function trainMethodsMonitored(methods: Method[], opts: TrainMethodsOptions & { monitor: EpochMonitor }): Promise<MonitoredModel[]> {
  const mon = opts.monitor;
  if (!mon || typeof mon.measure !== 'function') throw new Error('trainMethodsMonitored: monitor must be { name, key, measure(model) => number }');
  if (!/^[A-Za-z0-9-]+$/.test(mon.name ?? '')) throw new Error(`trainMethodsMonitored: monitor.name must be letters, digits and '-', got ${JSON.stringify(mon.name)}`);
  if (typeof mon.key !== 'string') throw new Error('trainMethodsMonitored: monitor.key must be a string naming what the measurement depends on');
  const ids = new Set<string>();
  for (const m of methods) {
    if (ids.has(m.id)) throw new Error(`method id "${m.id}" is used twice`);
    ids.add(m.id);
  }
  const log = opts.log ?? console.log;
  const out: MonitoredModel[] = [];
  for (const method of methods) {
    for (const seed of opts.seeds) {
      const model = createModel(opts.model, { inputShape: opts.data.shape, numClasses: opts.data.classNames.length, seed });
      const cfg: TrainConfig = { ...opts.train, ...(opts.trainFor?.(method) ?? {}), seed };
      // Initialization is the same model on a cache hit (same seed), so epoch 0 is always measured.
      const points: MonitorPoint[] = [{ epoch: 0, value: mon.measure(model) }];
      const result = await train(model, opts.data, cfg, {
        terms: method.terms(), modelKey: { spec: opts.model, method: method.id }, cache: opts.cache,
        onEpoch: (r) => points.push({ epoch: r.epoch, value: mon.measure(model) }),
      });
      const epochs = result.history.length;
      const file = result.checkpoint ? `${result.checkpoint}.${mon.name}.json` : '';
      let note = '';
      if (result.fromCache || points.length < epochs + 1) {
        const stored = file ? readStored(file, mon.key) : undefined;
        const have = new Map(points.map((p) => [p.epoch, p]));
        for (const p of stored ?? []) if (!have.has(p.epoch)) have.set(p.epoch, p);
        if (!have.has(epochs)) have.set(epochs, { epoch: epochs, value: mon.measure(model) });
        points.splice(0, points.length, ...[...have.values()].sort((a, b) => a.epoch - b.epoch));
        if (points.length < epochs + 1) note = `${mon.name}: only epochs ${points.map((p) => p.epoch).join(', ')} of 0..${epochs} (the model came from a checkpoint trained without this monitor)`;
      }
      const stored: Stored = { key: mon.key, points };
      if (file && !note) atomicWrite(file, JSON.stringify(stored), `the ${mon.name} curve`);
      const last = result.history[epochs - 1];
      const n = result.warnings.length;
      log(`${method.label} (seed ${seed}): test accuracy ${(100 * last.testAcc).toFixed(2)}%, ` +
        `${result.fromCache ? 'from cache' : `trained in ${result.trainSeconds.toFixed(0)} s`}${n ? `, ${n} warning${n > 1 ? 's' : ''} (see above)` : ''}`);
      if (note) log(note);
      out.push({ method, seed, model, result, warnings: result.warnings, monitor: points, monitorNote: note });
    }
  }
  return out;
}
