/** Nearest-rank percentile of an ascending array; every bench reads its figures this way. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export function summarize(values: readonly number[]): { count: number; median: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: round2(percentile(sorted, 0.5)),
    p95: round2(percentile(sorted, 0.95)),
    p99: round2(percentile(sorted, 0.99)),
    max: round2(sorted.at(-1) ?? Number.NaN),
  };
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Bytes as MB = 10^6 bytes (the stricter reading of the "250 MB"), to one decimal. */
export function megabytes(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}
