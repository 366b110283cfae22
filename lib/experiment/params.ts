// A notebook's parameters: one typed object per profile, merged with the user's overrides and validated.
import * as crypto from 'node:crypto';
import { activeProfile, type ProfileName } from './profiles';

export type Validator<P> = (p: P) => void;

/**
 * Picks the active profile's parameters (or `profile`) and applies `overrides`. Unknown keys are an error naming the key and the
 * allowed ones; `validate` throws on bad values (use `check`).
 */
export function resolveParams<P extends object>(
  byProfile: Record<ProfileName, P>, overrides: Partial<P> = {}, opts: { profile?: ProfileName; validate?: Validator<P> } = {},
): P & { profile: ProfileName } {
  const profile = opts.profile ?? activeProfile();
  const base = byProfile[profile];
  for (const k of Object.keys(overrides)) {
    if (!(k in base)) throw new Error(`unknown parameter "${k}": allowed are ${Object.keys(base).join(', ')}`);
  }
  const p = { ...base, ...overrides } as P;
  opts.validate?.(p);
  return { ...p, profile };
}

/** Throws `parameter "<name>" <problem>` unless ok. */
export function check(ok: boolean, name: string, problem: string): void {
  if (!ok) throw new Error(`parameter "${name}" ${problem}`);
}

function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** sha256 of the JSON with sorted keys: the same config always gives the same key. */
export function configHash(obj: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(stable(obj))).digest('hex');
}
