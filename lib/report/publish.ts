// The one call a notebook makes per figure: show it, and write it to figures/<notebook>/<name>.{html,png,svg}.
import type { Figure } from './figure';
import { show } from './display';
import { saveFigure, saveTable, type SaveFigureOptions, type SaveTableOptions } from './output';
import { showTable } from './display';
import { checkTableNotEmpty, type TableInput } from './tables';

export async function publish(fig: Figure, notebook: string, name: string, opts: SaveFigureOptions = {}): Promise<void> {
  await show(fig);
  await saveFigure(fig, notebook, name, opts);
}

/**
 * Shows a table and writes figures/<notebook>/<name>.{csv,md} (+ .tex with latex: true). An empty table
 * is refused with an error before anything is shown or written: the files of an earlier good run stay as they are.
 * Returns nothing, so a notebook cell that ends with it shows the table only (saveTable returns the paths).
 */
export function publishTable(table: TableInput, notebook: string, name: string, opts: SaveTableOptions = {}): void {
  checkTableNotEmpty(table, `publishTable: table '${name}' of notebook ${notebook}`);
  showTable(table, opts);
  saveTable(table, notebook, name, opts);
}
