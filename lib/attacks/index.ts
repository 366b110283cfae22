import type { Attack } from '../types';
import { apgd, type ApgdConfig } from './apgd';
import { apgdL1, type ApgdL1Config } from './apgd-l1';
import { fgsm, type FgsmConfig } from './fgsm';
import { flowPgd, type FlowPgdConfig } from './flow-pgd';
import { flowFgsm, type FlowFgsmConfig } from './flow-fgsm';
import { flowSquare, type FlowSquareConfig } from './flow-square';
import { mifgsm, pgd, type PgdConfig } from './pgd';
import { square, type SquareConfig } from './square';
import { squareL1, type SquareL1Config } from './square-l1';
import { cw, type CwConfig } from './cw';
import { stAdv, type StAdvConfig } from './stadv';
import { adef, type AdefConfig } from './adef';

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

const ATTACKS = {
  fgsm: (c: FgsmConfig) => fgsm(c),
  pgd: (c: PgdConfig) => pgd(c),
  mifgsm: (c: Parameters<typeof mifgsm>[0]) => mifgsm(c),
  apgd: (c: ApgdConfig) => apgd(c),
  'apgd-l1': (c: ApgdL1Config) => apgdL1(c),
  square: (c: SquareConfig) => square(c),
  'square-l1': (c: SquareL1Config) => squareL1(c),
  'flow-pgd': (c: FlowPgdConfig) => flowPgd(c),
  'flow-fgsm': (c: FlowFgsmConfig) => flowFgsm(c),
  'flow-square': (c: FlowSquareConfig) => flowSquare(c),
  cw: (c: CwConfig) => cw(c),
  stadv: (c: StAdvConfig) => stAdv(c),
  adef: (c: AdefConfig) => adef(c),
};
export type AttackName = keyof typeof ATTACKS;
export const ATTACK_NAMES = Object.keys(ATTACKS) as AttackName[];

/** An attack by name; unknown names list the known ones. */
export function attack<N extends AttackName>(name: N, config: Parameters<(typeof ATTACKS)[N]>[0]): Attack {
  const f = ATTACKS[name] as ((c: unknown) => Attack) | undefined;
  if (!f) throw new Error(`unknown attack "${name}": use one of ${ATTACK_NAMES.join(', ')}`);
  return f(config);
}

/** Foolbox-style: one attack per eps. */
export function forEachEps(epsList: number[], make: (eps: number) => Attack): Attack[] {
  return epsList.map(make);
}
