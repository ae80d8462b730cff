/**
 * Real time for engine work.
 */
import { Clock, Effect } from "effect"

const liveClock = Clock.Clock.defaultValue()

/**
 * Runs an effect on the wall clock. Starts, waits and retries deal with a
 * real engine, so they keep real time under `@effect/vitest`'s TestClock.
 */
export const withLiveClock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, Clock.Clock, liveClock)
