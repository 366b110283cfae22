// A loss term's view of a shard (lib/train/data-parallel.ts splits a training batch over threads): per-example random
// draws must be the rows the whole batch would have drawn, so a sharded step equals the unsharded one. tfjs seeded random ops
// fill a tensor in order from one stream, so a shard draws the whole batch's tensor with the step's seed and keeps its rows.
import * as tf from '@tensorflow/tfjs';
import type { LossContext } from '../types';

/**
 * `draw(n)` makes an [n, ...] per-example random tensor (seeded from ctx.seed); returns the `rows` of it this call sees: all of
 * draw(rows) when the batch is not sharded (`shard` = ctx.shard undefined), else rows [offset, offset + rows) of draw(total).
 */
export function shardRows<T extends tf.Tensor>(shard: LossContext['shard'], rows: number, draw: (n: number) => T): T {
  const s = shard;
  if (!s) return draw(rows);
  if (!(s.offset >= 0 && s.offset + rows <= s.total)) throw new Error(`shardRows: rows [${s.offset}, ${s.offset + rows}) are outside a batch of ${s.total}`);
  return tf.tidy(() => {
    const full = draw(s.total);
    return tf.slice(full, [s.offset, ...full.shape.slice(1).map(() => 0)], [rows, ...full.shape.slice(1)]) as T;
  });
}

/** The whole batch's size: ctx.shard.total when sharded, else `rows` (for a term whose value is not a plain batch mean). */
export function fullBatchSize(ctx: LossContext, rows: number): number {
  return ctx.shard?.total ?? rows;
}
