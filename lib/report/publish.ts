// The one call a notebook makes per figure: show it, and write it to figures/<notebook>/<name>.{html,png,svg}.
import type { Figure } from './figure';
import { show } from './display';
import { saveFigure, saveTable, type SaveFigureOptions, type SaveTableOptions } from './output';
import { showTable } from './display';
import type { TableInput } from './tables';

export async function publish(fig: Figure, notebook: string, name: string, opts: SaveFigureOptions = {}): Promise<void> {
  show(fig);
  await saveFigure(fig, notebook, name, opts);
}

export function publishTable(table: TableInput, notebook: string, name: string, opts: SaveTableOptions = {}): void {
  showTable(table, opts);
  saveTable(table, notebook, name, opts);
}
