// Checkpoint files: one file = magic, header length, JSON header, float32 payload. The header carries a sha256 of the rest of the
// header and the payload, so a truncated or altered byte anywhere fails the check and is never loaded. Written atomically.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { atomicWrite } from '../util/atomic-write';
import { readFileChecked } from '../util/writable';

const MAGIC = 'GRADREG-CKPT-2\n';

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

// JSON.parse keeps key order and numbers exactly, so the loaded header re-serializes to the bytes that were hashed.
function digest(header: Omit<CheckpointHeader, 'sha256'>, payload: Uint8Array): string {
  return crypto.createHash('sha256').update(JSON.stringify(header)).update(payload).digest('hex');
}

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
  const header: CheckpointHeader = { ...head, tensors, sha256: digest({ ...head, tensors }, bytes) };
  const hjson = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hjson.length));
  atomicWrite(file, Buffer.concat([Buffer.from(MAGIC), len, hjson, bytes]), 'the checkpoint');
}

/**
 * The header alone (magic, length, JSON), unverified, or undefined when the file is missing or unreadable: enough to tell a
 * finished run from a partial one without reading a large payload. loadCheckpoint verifies everything before use.
 */
export function readCheckpointHeader(file: string): CheckpointHeader | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(MAGIC.length + 8);
    if (fs.readSync(fd, head, 0, head.length, 0) < head.length || head.subarray(0, MAGIC.length).toString() !== MAGIC) return undefined;
    const hlen = Number(head.readBigUInt64LE(MAGIC.length));
    const json = Buffer.alloc(hlen);
    if (fs.readSync(fd, json, 0, hlen, head.length) < hlen) return undefined;
    return JSON.parse(json.toString()) as CheckpointHeader;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function loadCheckpoint(file: string): CheckpointData {
  const buf = readFileChecked(file, 'the checkpoint');
  const fail = (why: string) => new CorruptCheckpointError(`checkpoint ${file} is corrupt (${why})`);
  if (buf.length < MAGIC.length + 8) throw fail(`truncated: ${buf.length} bytes`);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw fail('wrong magic');
  const hlen = Number(buf.readBigUInt64LE(MAGIC.length));
  const hstart = MAGIC.length + 8;
  if (hstart + hlen > buf.length) throw fail('truncated header');
  let header: CheckpointHeader;
  try { header = JSON.parse(buf.subarray(hstart, hstart + hlen).toString()) as CheckpointHeader; } catch { throw fail('unreadable header'); }
  if (!header || !Array.isArray(header.tensors) || typeof header.sha256 !== 'string' || !Array.isArray(header.history)) throw fail('header lacks tensors, sha256 or history');
  const bytes = buf.subarray(hstart + hlen);
  const { sha256, ...rest } = header;
  if (digest(rest, bytes) !== sha256) throw fail('sha256 mismatch: altered or truncated');
  if (bytes.length % 4 || header.tensors.some((t) => (t.offset + t.length) * 4 > bytes.length)) throw fail('payload shorter than its header says');
  const payload = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const groups: CheckpointData['groups'] = { variables: [], state: [], optimizer: [] };
  for (const t of header.tensors) groups[t.group].push(payload.subarray(t.offset, t.offset + t.length));
  return { header, groups };
}
