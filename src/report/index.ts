export { type CompareResult, compareRuns, renderCompareReport } from './compare.ts';
export { fmt, page, REPORT_CSS, renderRunReport } from './html.ts';
export { BenchmarkEntry, type BenchmarkEntryInput, RunMetrics, type RunMetricsInput } from './metrics.ts';
export { barChart, esc, groupedBarChart } from './svg.ts';
