// Showing things in a notebook (tslab kernel) or, outside one, on the terminal.
import * as crypto from 'node:crypto';

interface Bundle { data: Record<string, unknown>; metadata: Record<string, unknown>; transient?: { display_id?: string } }
type Writer = (b: Bundle, update: boolean) => void;

/** tslab's display writer when running inside its kernel, else undefined. */
function writer(): Writer | undefined {
  try {
    // The kernel and lib resolve the same tslab module, so this is the live kernel's writer.
    const j = require('tslab/dist/jupyter') as { lastWriteDisplayData?: Writer };
    return j.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

export function inNotebook(): boolean {
  return writer() !== undefined;
}

/** Displays a mime bundle (several representations of one thing); false outside a notebook. */
export function displayBundle(data: Record<string, unknown>, opts: { displayId?: string; update?: boolean } = {}): boolean {
  const w = writer();
  if (!w) return false;
  w({ data, metadata: {}, transient: opts.displayId ? { display_id: opts.displayId } : undefined }, opts.update ?? false);
  return true;
}

export function newDisplayId(): string {
  return crypto.randomUUID();
}

export function showMarkdown(md: string): void {
  if (!displayBundle({ 'text/markdown': md, 'text/plain': md })) console.log(md);
}

export function showHtml(html: string, text = ''): void {
  if (!displayBundle({ 'text/html': html, 'text/plain': text })) if (text) console.log(text);
}

export function showPng(png: Uint8Array, text = '[image]'): void {
  if (!displayBundle({ 'image/png': Buffer.from(png).toString('base64'), 'text/plain': text })) console.log(text);
}
