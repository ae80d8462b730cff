/**
 * Protocol-level readiness checks shared by the modules: a probe retried from
 * the test process until it succeeds, the server rejects it, or the time
 * left of the startup timeout runs out.
 */
import { Clock, Duration, Effect } from "effect"
import type { StartedContainer } from "../../Container.ts"

/** A probe attempt that did not succeed. */
export interface ProbeFailure {
  readonly message: string
  /** False when another attempt cannot succeed, such as after a rejected password. */
  readonly retryable: boolean
  /** The server's error code, such as a SQLSTATE, when the server sent one. */
  readonly code?: string | undefined
}

/** The end of a probe run without success: rejected by the server, or timed out. */
export type ProbeOutcome =
  | { readonly _tag: "Rejected"; readonly failure: ProbeFailure; readonly attempts: number }
  | { readonly _tag: "TimedOut"; readonly last: ProbeFailure | undefined; readonly attempts: number }

/** Bounds of one attempt, so a hung connection cannot use up the whole budget. */
const minAttemptMillis = 250
const maxAttemptMillis = 5_000

/**
 * Runs `probe` until it succeeds, fails with a failure that is not
 * retryable, or `deadline` (epoch milliseconds of the effect clock) passes.
 * Each attempt gets the time left, between 250 milliseconds and 5 seconds.
 * Returns the number of attempts made.
 */
export const probeUntilReady = Effect.fnUntraced(function*(
  probe: (attemptTimeout: Duration.Duration) => Effect.Effect<void, ProbeFailure>,
  options: {
    readonly deadline: number
    readonly interval: Duration.Duration
    readonly annotations: Readonly<Record<string, unknown>>
  }
): Effect.fn.Return<number, ProbeOutcome> {
  let attempts = 0
  let last: ProbeFailure | undefined

  while (true) {
    attempts++
    const now = yield* Clock.currentTimeMillis
    const attemptMillis = Math.min(maxAttemptMillis, Math.max(minAttemptMillis, options.deadline - now))
    const timeout = Duration.millis(attemptMillis)
    const failure = yield* probe(timeout).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail<ProbeFailure>({ message: `no response within ${attemptMillis} ms`, retryable: true })
      }),
      Effect.flip,
      Effect.option
    )
    if (failure._tag === "None") {
      return attempts
    }

    if (!failure.value.retryable) {
      return yield* Effect.fail<ProbeOutcome>({ _tag: "Rejected", failure: failure.value, attempts })
    }
    // Log only changes, so a server that takes long to start does not flood the log.
    if (last?.message !== failure.value.message) {
      yield* Effect.logDebug("Readiness probe failed; retrying", failure.value.message).pipe(
        Effect.annotateLogs({ ...options.annotations, attempt: attempts })
      )
    }
    last = failure.value

    const afterAttempt = yield* Clock.currentTimeMillis
    if (afterAttempt + Duration.toMillis(options.interval) >= options.deadline) {
      return yield* Effect.fail<ProbeOutcome>({ _tag: "TimedOut", last, attempts })
    }
    yield* Effect.sleep(options.interval)
  }
})

/** The last `count` lines of the container's output, or a note when they cannot be read. */
export const lastLines = (container: StartedContainer, count = 20): Effect.Effect<string> =>
  container.logs.pipe(
    Effect.map((logs) => logs.trimEnd().split("\n").slice(-count).join("\n")),
    Effect.catch((error) => Effect.succeed(`(reading the logs failed: ${error.message})`))
  )

/** Joins a user network with aliases when `network` is set. */
export const networkAttachment = (
  network: { readonly name: string } | string | undefined,
  aliases: ReadonlyArray<string> | undefined
): { readonly network: string; readonly aliases: ReadonlyArray<string> } | undefined =>
  network === undefined ? undefined : {
    network: typeof network === "string" ? network : network.name,
    aliases: aliases ?? []
  }

/** Formats a host for a URL: an IPv6 address goes in brackets. */
export const urlHost = (host: string): string => host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
