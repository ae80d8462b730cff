/**
 * Summary statistics and number formatting for the result tables.
 */

/** Median, minimum and maximum of a set of samples. */
export interface Summary {
  readonly count: number
  readonly median: number
  readonly min: number
  readonly max: number
}

/** Summarizes samples. The median of an even count is the mean of the middle two. */
export const summarize = (samples: ReadonlyArray<number>): Summary | undefined => {
  if (samples.length === 0) {
    return undefined
  }
  const sorted = [...samples].sort((left, right) => left - right)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { count: sorted.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

/** Formats milliseconds: one decimal below 100 ms, whole numbers above. */
export const formatMillis = (millis: number): string => millis < 100 ? millis.toFixed(1) : millis.toFixed(0)

/** Formats a ratio such as `1.23×`. */
export const formatRatio = (ratio: number): string => `${ratio.toFixed(2)}×`

/** Renders a Markdown table with left-aligned first columns and right-aligned numbers. */
export const markdownTable = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  textColumns = 1
): string => {
  const align = header.map((_, index) => index < textColumns ? "---" : "--:")
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  return [line(header), line(align), ...rows.map(line)].join("\n")
}
