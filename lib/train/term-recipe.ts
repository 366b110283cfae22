// How a library loss term can be rebuilt elsewhere: the name of the factory that made it and the arguments it was called
// with. A term with a recipe is plain data (another process, or another machine, rebuilds it from lib/jobs' factory
// registry), and its cache identity is `lib:<factory>` + arguments instead of the transpiled source of its functions: the
// source text depends on the compiler (tslab's TypeScript in a notebook, esbuild under tsx in a worker), the library's code
// is already in the lib digest. A term written in a notebook has no recipe and keeps the source hash.
import type { LossTerm } from '../types';

export interface TermRecipe {
  /** The exported factory's name, e.g. 'crossEntropyTerm', 'doubleBackprop' (lib/jobs/term-factories.ts resolves it). */
  readonly factory: string;
  /** The arguments the factory was called with (plain data). */
  readonly args: readonly unknown[];
}

// Kept beside the object rather than on it: a spread copy (`{ ...term, value: myOwn }`) is a different object and does not
// inherit the recipe, so a user's variation of a library term is keyed by its own source, never by the library's name.
const recipes = new WeakMap<LossTerm, { recipe: TermRecipe; value: LossTerm['value']; prepare: LossTerm['prepare'] }>();

/** Marks `term` as made by the library factory `factory` called with `args`; returns the term. */
export function withRecipe<T extends LossTerm>(factory: string, args: readonly unknown[], term: T): T {
  // A copy: a config object the caller edits afterwards must not change what this term was built from.
  let copy: unknown[];
  try { copy = structuredClone([...args]); } catch { copy = [...args]; } // functions cannot be cloned; termIdentity then refuses the recipe
  recipes.set(term, { recipe: { factory, args: copy }, value: term.value, prepare: term.prepare });
  return term;
}

/** The term's recipe, or undefined when it was not made by a library factory (or its functions were replaced since). */
export function termRecipe(term: LossTerm): TermRecipe | undefined {
  const r = recipes.get(term);
  if (!r || r.value !== term.value || r.prepare !== term.prepare) return undefined;
  return r.recipe;
}
