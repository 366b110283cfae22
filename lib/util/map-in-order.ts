// Async map, one item at a time: notebook loops over models where each step awaits (evaluateRobustnessAsync, training).

/** Maps items through an async function in order, each call after the previous one settled (unlike Promise.all(map)). */
export async function mapInOrder<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const [i, item] of items.entries()) out.push(await fn(item, i));
  return out;
}
