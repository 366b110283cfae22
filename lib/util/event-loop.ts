// Long loops in a notebook: tslab sends output (progress bars) only when the event loop turns.

/** An awaitable that lets the event loop turn when `everyMs` have passed since it last did, and is a no-op otherwise. */
export function eventLoopTurner(everyMs = 1000): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last <= everyMs) return;
    await new Promise((r) => setImmediate(r));
    last = Date.now();
  };
}
