// A notebook's parameters: one typed object per profile, merged with the user's overrides and validated.
import * as crypto from 'node:crypto';
import { activeProfile, PROFILE_NAMES, type ProfileName } from './profiles';
import { announceOutputs } from '../report/output-dir';

export type Validator<P> = (p: P) => void;

export interface ResolveOptions<P> {
  /** Profile to use instead of the active one (GRADREG_PROFILE). */
  profile?: ProfileName;
  /** Throws on bad values (negative eps, lambda...): use `check`. */
  validate?: Validator<P>;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Picks the active profile's parameters (or `opts.profile`'s) and applies `overrides`. An unknown key, or a value of another
 * type than the profile's, is an error naming the key; `validate` (or `opts.validate`) then checks the merged values.
 * Overrides that are `undefined` are ignored.
 */
export function resolveParams<P extends object>(
  byProfile: Record<ProfileName, P>, overrides: Partial<P> = {}, opts: Validator<P> | ResolveOptions<P> = {},
): P & { profile: ProfileName } {
  const o: ResolveOptions<P> = typeof opts === 'function' ? { validate: opts } : opts;
  const profile = o.profile ?? activeProfile();
  const base = byProfile[profile];
  if (!base || typeof base !== 'object') {
    throw new Error(`no parameters for profile "${profile}": byProfile must have the keys ${PROFILE_NAMES.join(', ')}`);
  }
  const allowed = Object.keys(base);
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides as Record<string, unknown>)) {
    if (!Object.prototype.hasOwnProperty.call(base, k)) {
      throw new Error(`unknown parameter "${k}": allowed are ${allowed.join(', ')}`);
    }
    if (v === undefined) continue;
    const want = kind((base as Record<string, unknown>)[k]);
    if (want !== 'null' && want !== 'undefined' && kind(v) !== want) {
      throw new Error(`parameter "${k}" must be of type ${want} (profile ${profile} has ${JSON.stringify((base as Record<string, unknown>)[k])}), got ${kind(v)} ${JSON.stringify(v)}`);
    }
    merged[k] = v;
  }
  const p = merged as P;
  o.validate?.(p);
  // The notebook's first output says where this run writes (figures/<notebook>/ only for the committed profile).
  announceOutputs(profile);
  return { ...p, profile };
}

/** Throws `parameter "<name>" <problem>` unless ok. */
export function check(ok: boolean, name: string, problem: string): void {
  if (!ok) throw new Error(`parameter "${name}" ${problem}`);
}

// Plain data only: a tensor or class instance would hash its identity (ids change per run), not its meaning.
function stable(v: unknown, at: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : `${v}`; // NaN/Infinity would otherwise become null
  if (Array.isArray(v)) return v.map((x, i) => stable(x, `${at}[${i}]`));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`configHash: ${at} is a ${proto?.constructor?.name ?? 'non-plain object'}: pass plain data (numbers, strings, booleans, arrays, objects)`);
    }
    const rec = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(rec).filter((k) => rec[k] !== undefined).sort().map((k) => [k, stable(rec[k], `${at}.${k}`)]));
  }
  throw new Error(`configHash: ${at} is a ${typeof v}: pass plain data (numbers, strings, booleans, arrays, objects)`);
}

/** sha256 hex of the JSON with sorted keys: the same config always gives the same key; undefined fields count as absent. */
export function configHash(obj: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(stable(obj, 'config'))).digest('hex');
}
