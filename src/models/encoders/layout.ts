// Feature-vector layouts: named blocks of consecutive dimensions, as documented in
// docs/models/encoders.md and used by tests and benchmarks to find a block.

/** [name, first index, count] */
export type LayoutEntry = readonly [name: string, first: number, count: number];

/** Consecutive blocks from [name, count] pairs. */
export function layout(parts: readonly (readonly [string, number])[]): readonly LayoutEntry[] {
  let at = 0;
  return parts.map(([name, count]) => {
    const entry: LayoutEntry = [name, at, count];
    at += count;
    return entry;
  });
}

export function featureCount(entries: readonly LayoutEntry[]): number {
  return entries.reduce((n, [, , count]) => n + count, 0);
}
