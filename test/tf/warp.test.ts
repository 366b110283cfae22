import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { warp, gridToPixels, pixelsToGrid, type WarpPadding } from '../../lib/tf/warp';
import { gradCheck } from '../../lib/tf/gradcheck';
import { TEST_BACKENDS, tensorDelta, useBackend } from '../helpers';

const B = 2, H = 5, W = 6, C = 2;

function image(seed: number): tf.Tensor4D {
  return tf.randomUniform([B, H, W, C], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** A flow whose sample positions sit at fractional pixel offsets in [0.2, 0.8], away from the sampler's kinks. */
function smoothFlow(seed: number, maxPixels = 2): tf.Tensor4D {
  return tf.tidy(() => {
    const whole = tf.floor(tf.randomUniform([B, H, W, 2], -maxPixels, maxPixels, 'float32', seed));
    const frac = tf.randomUniform([B, H, W, 2], 0.2, 0.8, 'float32', seed + 1);
    const pix = tf.add(whole, frac);
    const scale = tf.tensor1d([2 / (W - 1), 2 / (H - 1)]);
    return tf.mul(pix, scale) as tf.Tensor4D;
  });
}

/** Plain-JS bilinear sampler written from torch's grid_sample(align_corners=True) definition, for reference. */
function referenceWarp(x: number[][][][], flow: number[][][][], padding: WarpPadding): number[][][][] {
  const out: number[][][][] = [];
  for (let b = 0; b < x.length; b++) {
    const img = x[b];
    const h = img.length, w = img[0].length, c = img[0][0].length;
    const at = (i: number, j: number, k: number): number => {
      if (padding === 'border') return img[Math.min(Math.max(i, 0), h - 1)][Math.min(Math.max(j, 0), w - 1)][k];
      return i >= 0 && i < h && j >= 0 && j < w ? img[i][j][k] : 0;
    };
    out.push([]);
    for (let i = 0; i < h; i++) {
      out[b].push([]);
      for (let j = 0; j < w; j++) {
        // grid coordinate -> pixel coordinate, align_corners=True
        const gx = -1 + (2 * j) / (w - 1) + flow[b][i][j][0];
        const gy = -1 + (2 * i) / (h - 1) + flow[b][i][j][1];
        let px = ((gx + 1) * (w - 1)) / 2, py = ((gy + 1) * (h - 1)) / 2;
        if (padding === 'border') { px = Math.min(Math.max(px, 0), w - 1); py = Math.min(Math.max(py, 0), h - 1); }
        const x0 = Math.floor(px), y0 = Math.floor(py), ax = px - x0, ay = py - y0;
        const px_: number[] = [];
        for (let k = 0; k < c; k++) {
          px_.push(at(y0, x0, k) * (1 - ay) * (1 - ax) + at(y0, x0 + 1, k) * (1 - ay) * ax
            + at(y0 + 1, x0, k) * ay * (1 - ax) + at(y0 + 1, x0 + 1, k) * ay * ax);
        }
        out[b][i].push(px_);
      }
    }
  }
  return out;
}

function maxAbsDiff(a: number[][][][], b: number[][][][]): number {
  return Math.max(...a.flat(3).map((v, i) => Math.abs(v - b.flat(3)[i])));
}

test('gridToPixels / pixelsToGrid: 1 grid unit = (size-1)/2 pixels, inverse of each other, size checked', () => {
  assert.equal(gridToPixels(1, 29), 14);
  assert.equal(gridToPixels(0.01, 32), 0.155);
  assert.ok(Math.abs(pixelsToGrid(gridToPixels(0.37, 28), 28) - 0.37) < 1e-15);
  assert.throws(() => gridToPixels(0.1, 1), /size must be an integer >= 2/);
  assert.throws(() => pixelsToGrid(1, 2.5), /size must be an integer >= 2/);
});

for (const backend of TEST_BACKENDS) {
  test(`warp: exactly the identity at zero flow, both paddings (${backend})`, async () => {
    await useBackend(backend);
    const x = image(1);
    for (const padding of ['zeros', 'border'] as const) {
      const y = warp(x, tf.zeros([B, H, W, 2]) as tf.Tensor4D, { padding });
      assert.deepEqual(Array.from(await y.data()), Array.from(await x.data()), padding);
    }
  });

  test(`warp: integer pixel shifts move pixels, half-pixel shifts average neighbours, padding at the edge (${backend})`, async () => {
    await useBackend(backend);
    const x = image(2);
    const xa = (await x.array()) as number[][][][];
    const shift = (px: number, py: number) => tf.tidy(() => tf.mul(tf.ones([B, H, W, 2]),
      tf.tensor1d([pixelsToGrid(px, W), pixelsToGrid(py, H)])) as tf.Tensor4D);
    const right = (await warp(x, shift(1, 0)).array()) as number[][][][];
    const rightBorder = (await warp(x, shift(1, 0), { padding: 'border' }).array()) as number[][][][];
    const halfDown = (await warp(x, shift(0, 0.5)).array()) as number[][][][];
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const want = j + 1 < W ? xa[1][i][j + 1][0] : 0;
        assert.ok(Math.abs(right[1][i][j][0] - want) < 1e-6, `shift right at ${i},${j}`);
        assert.ok(Math.abs(rightBorder[1][i][j][0] - xa[1][i][Math.min(j + 1, W - 1)][0]) < 1e-6, `border at ${i},${j}`);
        const wantHalf = i + 1 < H ? (xa[0][i][j][1] + xa[0][i + 1][j][1]) / 2 : xa[0][i][j][1] / 2;
        assert.ok(Math.abs(halfDown[0][i][j][1] - wantHalf) < 1e-6, `half down at ${i},${j}`);
      }
    }
  });

  test(`warp: matches a plain-JS grid_sample(align_corners=True) for random flows, zeros and border (${backend})`, async () => {
    await useBackend(backend);
    const x = image(3);
    const flow = tf.randomNormal([B, H, W, 2], 0, 0.6, 'float32', 4) as tf.Tensor4D; // reaches well outside the image
    const xa = (await x.array()) as number[][][][];
    const fa = (await flow.array()) as number[][][][];
    for (const padding of ['zeros', 'border'] as const) {
      const got = (await warp(x, flow, { padding }).array()) as number[][][][];
      assert.ok(maxAbsDiff(got, referenceWarp(xa, fa, padding)) < 1e-5, padding);
    }
  });

  test(`warp: gradients w.r.t. x and flow match finite differences (${backend})`, async () => {
    await useBackend(backend);
    const x = image(5);
    const flow = smoothFlow(6);
    const probe = tf.randomNormal([B, H, W, C], 0, 1, 'float32', 7);
    for (const padding of ['zeros', 'border'] as const) {
      const f = (xx: tf.Tensor, ff: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(tf.square(warp(xx as tf.Tensor4D, ff as tf.Tensor4D, { padding })), probe));
      const r = await gradCheck(f, [x, flow], { h: 1e-3, samples: 20 });
      assert.ok(r.maxAbsGrad > 1e-3, `${padding}: gradient vanished`);
      assert.ok(r.relError < 2e-2, `${padding}: relative error ${r.relError}`);
    }
  });

  test(`warp: second-order gradients (of a flow-gradient penalty) match finite differences (${backend})`, async () => {
    await useBackend(backend);
    const x = image(8);
    const flow = smoothFlow(9, 1);
    const w = tf.randomNormal([H * W * C, 3], 0, 0.5, 'float32', 10);
    // R(x, w) = ||d/dflow sum(softplus(warp(x, flow) W))||^2: depends on x through the gather's backward (a scatter).
    const penalty = (xx: tf.Tensor, ww: tf.Tensor): tf.Scalar => {
      const gf = tf.grad((ff: tf.Tensor) => tf.sum(tf.softplus(tf.matMul(
        tf.reshape(warp(xx as tf.Tensor4D, ff as tf.Tensor4D), [B, -1]), ww as tf.Tensor2D))))(flow);
      return tf.sum(tf.square(gf));
    };
    const r = await gradCheck(penalty, [x, w], { h: 1e-3, samples: 16 });
    assert.ok(r.maxAbsGrad > 1e-3, 'gradient vanished');
    assert.ok(r.relError < 2e-2, `relative error ${r.relError}`);
  });

  test(`warp: clear errors for bad shapes and options, no tensor leak (${backend})`, async () => {
    await useBackend(backend);
    const x = image(11);
    assert.throws(() => warp(x, tf.zeros([B, H, W, 3]) as tf.Tensor4D), /flow must be \[B,H,W,2\] = \[2,5,6,2\]/);
    assert.throws(() => warp(x, tf.zeros([B, H + 1, W, 2]) as tf.Tensor4D), /flow must be/);
    assert.throws(() => warp(x, tf.zeros([B, H, W, 2]) as tf.Tensor4D, { padding: 'reflect' as never }), /padding must be one of zeros, border/);
    const flow = smoothFlow(12);
    const delta = await tensorDelta(() => {
      const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(warp(xx as tf.Tensor4D, ff as tf.Tensor4D)))([x, flow]);
      tf.dispose(g);
      tf.dispose(warp(x, flow));
    });
    assert.equal(delta, 0);
  });
}
