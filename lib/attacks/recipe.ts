// How a library attack is identified and rebuilt elsewhere: the registry name of the factory that made it (lib/attacks/index.ts
// ATTACKS) and the config it was called with. The evaluation cache keys a tagged attack as 'lib' + name + config instead of the
// transpiled source of its run(): that text depends on the compiler (tslab's TypeScript in a notebook, esbuild under tsx in a
// job worker), and the library's code is already in the evaluation code digest. An attack written or modified in a notebook has
// no tag and keeps the source hash. Mirrors lib/train/term-recipe.ts for loss terms.
import type { Attack } from '../types';

export interface AttackRecipe {
  /** The registry name (lib/attacks/index.ts ATTACK_NAMES), e.g. 'flow-pgd'. */
  readonly factory: string;
  /** The config the factory was called with (plain data). */
  readonly config: unknown;
}

// Beside the object, not on it: a spread copy with another run() (`{ ...a, run: mine }`) is a different object and is keyed by
// its own source.
const tags = new WeakMap<Attack, { recipe?: AttackRecipe; run: Attack['run'] }>();

/**
 * Marks `a` as library code; with `recipe` it can also be rebuilt from JSON (a derived attack such as the protocol's FGM-L2, a
 * renamed one-step PGD, is library code without a registry entry of its own). Returns `a`.
 */
export function markLibAttack<A extends Attack>(a: A, recipe?: { factory: string; config: unknown }): A {
  // A copy: a config object the caller edits afterwards must not change what this attack was built from.
  let copy: AttackRecipe | undefined;
  try { copy = recipe && { factory: recipe.factory, config: structuredClone(recipe.config) }; } catch { copy = undefined; } // not plain data: not rebuildable
  tags.set(a, { recipe: copy, run: a.run });
  return a;
}

/** Whether `a` is an unmodified library attack (its run() is the one the library made). */
export function isLibAttack(a: Attack): boolean {
  const t = tags.get(a);
  return t !== undefined && t.run === a.run;
}

/** The attack's recipe, or undefined when it is not an unmodified library attack with a registry entry. */
export function attackRecipe(a: Attack): AttackRecipe | undefined {
  const t = tags.get(a);
  return t && t.run === a.run ? t.recipe : undefined;
}
