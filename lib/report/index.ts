// Figures, tables, notebook display and progress bars.
export type { Figure } from './figure';
export { PALETTE } from './figure';
export * from './figures';
export * from './image-grid';
export * from './tables';
export * from './output';
export { chromiumPath, closeBrowser, renderFigure, type RenderOptions } from './browser';
export * from './display';
export * from './progress';
export * from './publish';
export * from './cost-figure';
export * from './matrix-heatmap';
