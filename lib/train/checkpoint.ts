// Checkpoint files: one file = magic, JSON header (with the payload's sha256), float32 payload. Written atomically;
// a truncated or altered file fails the hash check and is never loaded.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { atomicWrite } from '../util/atomic-write';

const MAGIC = 'GRADREG-CKPT-1\n';

export interface CheckpointHeader {
  key: string;
  epoch: number;
  done: boolean;
  optimizerStep: number;
  history: unknown[];
  meta: Record<string, unknown>;
  tensors: { group: 'variables' | 'state' | 'optimizer'; shape: number[]; offset: number; length: number }[];
  sha256: string;
}

export interface CheckpointData {
  header: CheckpointHeader;
  groups: Record<'variables' | 'state' | 'optimizer', Float32Array[]>;
}

export class CorruptCheckpointError extends Error {}

export async function saveCheckpoint(
  file: string, head: Omit<CheckpointHeader, 'tensors' | 'sha256'>, groups: Record<'variables' | 'state' | 'optimizer', tf.Tensor[]>,
): Promise<void> {
  const tensors: CheckpointHeader['tensors'] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const group of ['variables', 'state', 'optimizer'] as const) {
    for (const t of groups[group]) {
      const data = (await t.data()) as Float32Array;
      tensors.push({ group, shape: t.shape, offset, length: data.length });
      parts.push(data);
      offset += data.length;
    }
  }
  const payload = new Float32Array(offset);
  let o = 0;
  for (const p of parts) { payload.set(p, o); o += p.length; }
  const bytes = new Uint8Array(payload.buffer);
  const header: CheckpointHeader = { ...head, tensors, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
  const hjson = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hjson.length));
  atomicWrite(file, Buffer.concat([Buffer.from(MAGIC), len, hjson, bytes]));
}

export function loadCheckpoint(file: string): CheckpointData {
  const buf = fs.readFileSync(file);
  const fail = (why: string) => new CorruptCheckpointError(`checkpoint ${file} is corrupt (${why})`);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw fail('wrong magic');
  const hlen = Number(buf.readBigUInt64LE(MAGIC.length));
  const hstart = MAGIC.length + 8;
  if (hstart + hlen > buf.length) throw fail('truncated header');
  let header: CheckpointHeader;
  try { header = JSON.parse(buf.subarray(hstart, hstart + hlen).toString()) as CheckpointHeader; } catch { throw fail('unreadable header'); }
  const bytes = buf.subarray(hstart + hlen);
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== header.sha256) throw fail('payload hash mismatch');
  const payload = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const groups: CheckpointData['groups'] = { variables: [], state: [], optimizer: [] };
  for (const t of header.tensors) groups[t.group].push(payload.subarray(t.offset, t.offset + t.length));
  return { header, groups };
}
