// Every attack of the kit. The factories exported here tag what they make (lib/attacks/recipe.ts), so the evaluation cache keys
// a library attack by name and config, and a job worker can rebuild it from JSON (buildAttack).
import type { Attack } from '../types';
import { apgd as apgdImpl, type ApgdConfig } from './apgd';
import { apgdL1 as apgdL1Impl, type ApgdL1Config } from './apgd-l1';
import { fgsm as fgsmImpl, type FgsmConfig } from './fgsm';
import { flowPgd as flowPgdImpl, type FlowPgdConfig } from './flow-pgd';
import { flowFgsm as flowFgsmImpl, type FlowFgsmConfig } from './flow-fgsm';
import { flowSquare as flowSquareImpl, type FlowSquareConfig } from './flow-square';
import { mifgsm as mifgsmImpl, pgd as pgdImpl, type PgdConfig } from './pgd';
import { square as squareImpl, type SquareConfig } from './square';
import { squareL1 as squareL1Impl, type SquareL1Config } from './square-l1';
import { cw as cwImpl, type CwConfig } from './cw';
import { stAdv as stAdvImpl, type StAdvConfig } from './stadv';
import { adef as adefImpl, type AdefConfig } from './adef';
import { markLibAttack, type AttackRecipe } from './recipe';

export * from './base';
export * from './fgsm';
export * from './pgd';
export * from './apgd';
export * from './apgd-l1';
export * from './l1';
export * from './square';
export * from './square-l1';
export * from './flow-pgd';
export * from './flow-fgsm';
export * from './flow-square';
export * from './cw';
export * from './stadv';
export * from './adef';

/** The factory `make` under the registry name `name`, its attacks tagged as library code with their recipe. */
function tagged<F extends (config: never) => Attack>(name: string, make: F): F {
  return ((config: never) => markLibAttack(make(config), { factory: name, config })) as F;
}

// Explicit exports shadow the same names from the `export *` lines above: callers get the tagged factories.
export const fgsm = tagged('fgsm', fgsmImpl);
export const pgd = tagged('pgd', pgdImpl);
export const mifgsm = tagged('mifgsm', mifgsmImpl);
export const apgd = tagged('apgd', apgdImpl);
export const apgdL1 = tagged('apgd-l1', apgdL1Impl);
export const square = tagged('square', squareImpl);
export const squareL1 = tagged('square-l1', squareL1Impl);
export const flowPgd = tagged('flow-pgd', flowPgdImpl);
export const flowFgsm = tagged('flow-fgsm', flowFgsmImpl);
export const flowSquare = tagged('flow-square', flowSquareImpl);
export const cw = tagged('cw', cwImpl);
export const stAdv = tagged('stadv', stAdvImpl);
export const adef = tagged('adef', adefImpl);

const ATTACKS = {
  fgsm, pgd, mifgsm, apgd, 'apgd-l1': apgdL1, square, 'square-l1': squareL1, 'flow-pgd': flowPgd, 'flow-fgsm': flowFgsm,
  'flow-square': flowSquare, cw, stadv: stAdv, adef,
};
export type AttackName = keyof typeof ATTACKS;
export { isLibAttack, attackRecipe, markLibAttack, type AttackRecipe } from './recipe';
export const ATTACK_NAMES = Object.keys(ATTACKS) as AttackName[];

/** An attack by name; unknown names list the known ones. */
export function attack<N extends AttackName>(name: N, config: Parameters<(typeof ATTACKS)[N]>[0]): Attack {
  const f = Object.prototype.hasOwnProperty.call(ATTACKS, name) ? (ATTACKS[name] as (c: unknown) => Attack) : undefined;
  if (!f) throw new Error(`unknown attack "${name}": use one of ${ATTACK_NAMES.join(', ')}`);
  return f(config);
}

/** Foolbox-style: one attack per eps. */
export function forEachEps(epsList: number[], make: (eps: number) => Attack): Attack[] {
  return epsList.map(make);
}

/** Rebuilds a library attack from its recipe (what a job worker does with the attacks of an evaluation job). */
export function buildAttack(r: AttackRecipe): Attack {
  return attack(r.factory as AttackName, r.config as never);
}
