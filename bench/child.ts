/**
 * One cold sample, run by `run.ts` in a fresh Node process per sample:
 * imports one implementation, sets up its engine client, starts the first
 * container of the process and releases it. Prints one JSON line.
 *
 * Usage: node bench/child.ts <implementation id>, with BENCH_RUN_ID set.
 */
import { findImplementation } from "./implementations.ts"
import { probeUntilReady } from "./probe.ts"
import { readSettings } from "./settings.ts"

/** The figures one cold sample yields, in milliseconds. */
export interface ColdSample {
  readonly importMillis: number
  /** Import plus engine client setup and the first engine call. */
  readonly importAndFirstCallMillis: number
  /** The first container of the process, from `startOne` to a `200 ok` response to the benchmark's GET. */
  readonly startMillis: number
  readonly releaseMillis: number
  /** HTTP probes that failed after the implementation reported the container ready. */
  readonly probeFailures: number
}

const main = async () => {
  const id = process.argv[2]
  const runId = process.env.BENCH_RUN_ID
  if (id === undefined || runId === undefined) {
    throw new Error("usage: BENCH_RUN_ID=<id> node bench/child.ts <implementation id>")
  }
  const settings = readSettings()
  const implementation = findImplementation(settings, id)

  const importStart = performance.now()
  const makeSession = await implementation.importModules(settings)
  const imported = performance.now()

  const session = makeSession({ settings, runId })
  await session.connect()
  const connected = performance.now()

  const started = await session.startOne()
  const probeFailures = await probeUntilReady(
    started.hostPort,
    settings.probeIntervalMillis,
    settings.startTimeoutMillis
  )
  const ready = performance.now()
  await started.release()
  const released = performance.now()
  await session.close()

  const sample: ColdSample = {
    importMillis: imported - importStart,
    importAndFirstCallMillis: connected - importStart,
    startMillis: ready - connected,
    releaseMillis: released - ready,
    probeFailures
  }
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}

main().then(
  // testcontainers-node keeps sockets open after its work is done, so exit explicitly.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
