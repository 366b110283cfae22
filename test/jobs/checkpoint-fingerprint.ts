// What "identical checkpoint" means in the job tests: the same bytes in the payload (weights, batch-norm state, optimizer
// state) and the same header except the wall-clock fields (meta.trainSeconds and each epoch's seconds), which no two runs share.
import * as crypto from 'node:crypto';
import { loadCheckpoint } from '../../lib/train/checkpoint';

/** A checkpoint without its wall-clock fields: equal fingerprints = the same trained model, optimizer state and history. */
export function fingerprint(file: string): { header: string; payloadSha256: string } {
  const ck = loadCheckpoint(file);
  const h = JSON.parse(JSON.stringify(ck.header)) as typeof ck.header;
  delete (h.meta as Record<string, unknown>).trainSeconds;
  for (const e of h.history as Record<string, unknown>[]) delete e.seconds;
  const { sha256: _digest, ...rest } = h;
  const payload = crypto.createHash('sha256');
  for (const g of ['variables', 'state', 'optimizer'] as const) for (const a of ck.groups[g]) payload.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return { header: JSON.stringify(rest), payloadSha256: payload.digest('hex') };
}
