/**
 * A fixed-size window of the most recent durations (in milliseconds), for p50/p99 in `Executor.stats`. Memory stays
 * bounded however many tasks run.
 *
 * @internal
 */
import * as Duration from "effect/Duration"

const WINDOW = 1024

export class Samples {
  private readonly values = new Float64Array(WINDOW)
  private count = 0

  add(value: number): void {
    this.values[this.count % WINDOW] = value
    this.count++
  }

  percentiles(): { readonly p50: Duration.Duration; readonly p99: Duration.Duration } {
    const size = Math.min(this.count, WINDOW)
    if (size === 0) return { p50: Duration.zero, p99: Duration.zero }
    const sorted = this.values.slice(0, size).sort()
    const at = (q: number) => Duration.millis(sorted[Math.min(size - 1, Math.floor(q * size))])
    return { p50: at(0.5), p99: at(0.99) }
  }
}
