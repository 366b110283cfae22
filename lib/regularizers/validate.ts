// Config checks shared by the regularizer factories: every error names the factory, the field, what was expected and what came.

export function checkKeys(where: string, config: object, allowed: readonly string[]): void {
  if (config === null || typeof config !== 'object') throw new Error(`${where}: config must be an object, got ${String(config)}`);
  for (const k of Object.keys(config)) {
    if (!allowed.includes(k)) throw new Error(`${where}: unknown option "${k}"; allowed options: ${allowed.join(', ')}`);
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

export function checkNumber(where: string, field: string, v: unknown, opts: { min?: number; minExclusive?: boolean; max?: number; integer?: boolean }): number {
  const { min, max, integer, minExclusive } = opts;
  const range = [
    min === undefined ? '' : `${minExclusive ? '>' : '>='} ${min}`,
    max === undefined ? '' : `<= ${max}`,
  ].filter((s) => s).join(' and ');
  const expected = `${integer ? 'an integer' : 'a finite number'}${range ? ` ${range}` : ''}`;
  const ok = typeof v === 'number' && Number.isFinite(v) && (!integer || Number.isInteger(v))
    && (min === undefined || (minExclusive ? v > min : v >= min)) && (max === undefined || v <= max);
  if (!ok) throw new Error(`${where}: ${field} must be ${expected}, got ${describe(v)}`);
  return v as number;
}

export function checkOneOf<T>(where: string, field: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    throw new Error(`${where}: ${field} must be one of ${allowed.map((a) => describe(a)).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function checkBoolean(where: string, field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: ${field} must be true or false, got ${describe(v)}`);
  return v;
}

/** weight: the trainer's multiplier, >= 0 (0 turns the term off). */
export function checkWeight(where: string, v: unknown, field = 'weight'): number {
  return checkNumber(where, field, v, { min: 0 });
}
