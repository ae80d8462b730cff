/**
 * Benchmark settings read from environment variables, with the defaults that
 * keep `npm run bench` at a few minutes on a 2-core machine.
 */
import * as Path from "node:path"

/** The root of the repository, one level above this folder. */
export const repositoryRoot = Path.resolve(import.meta.dirname, "..")

const readCount = (name: string, fallback: number, minimum: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") {
    return fallback
  }
  const value = Number(raw)
  if (!Number.isInteger(value) || value < minimum) {
    throw new Error(`${name} must be an integer of at least ${minimum}, got ${JSON.stringify(raw)}`)
  }
  return value
}

const readList = (name: string): ReadonlyArray<string> | undefined => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") {
    return undefined
  }
  return raw.split(",").map((item) => item.trim()).filter((item) => item !== "")
}

/** Settings of one benchmark run. */
export interface Settings {
  /** Child processes per implementation for the import, first-call and cold figures. */
  readonly coldRuns: number
  /** Warm single starts per implementation, after one untimed warm-up start. */
  readonly warmRuns: number
  /** Rounds of parallel starts per implementation. */
  readonly parallelRuns: number
  /** Containers per parallel round, all on one user-defined network. */
  readonly parallelSize: number
  /** Profiled single starts per implementation, with engine calls recorded. */
  readonly profileRuns: number
  readonly image: string
  /** Implementation ids to run, or `all`. Unset means the default set. */
  readonly implementations: ReadonlyArray<string> | undefined
  /** Absolute path of the library's entry module. */
  readonly libraryEntry: string
  /** Absolute path of a second copy of the library to compare, run as `etc-candidate`. */
  readonly candidateEntry: string | undefined
  /** Pause between two HTTP probes of the benchmark itself, in milliseconds. */
  readonly probeIntervalMillis: number
  /** How long the server waits before it listens, in milliseconds. */
  readonly serverDelayMillis: number
  /** This library's poll interval in milliseconds, or `undefined` for its default. */
  readonly pollIntervalMillis: number | undefined
  /** Time limit for one container to become ready, in milliseconds. */
  readonly startTimeoutMillis: number
  /** The section of the results page to replace, such as `before` or `after`. */
  readonly record: string
  /** The results page, or `undefined` to only print. */
  readonly output: string | undefined
}

/** Reads the settings. Throws on an invalid value, naming the variable. */
export const readSettings = (): Settings => {
  const output = process.env.BENCH_OUTPUT
  const candidate = process.env.BENCH_CANDIDATE
  const record = process.env.BENCH_RECORD ?? "latest"
  if (!/^[a-z0-9][a-z0-9-]*$/.test(record)) {
    throw new Error(`BENCH_RECORD must be lowercase letters, digits and '-', got ${JSON.stringify(record)}`)
  }
  return {
    coldRuns: readCount("BENCH_COLD_RUNS", 5, 0),
    warmRuns: readCount("BENCH_WARM_RUNS", 15, 0),
    parallelRuns: readCount("BENCH_PARALLEL_RUNS", 3, 0),
    parallelSize: readCount("BENCH_PARALLEL_SIZE", 20, 1),
    profileRuns: readCount("BENCH_PROFILE_RUNS", 5, 0),
    image: process.env.BENCH_IMAGE ?? "effect-testcontainers/toolbox:1",
    implementations: readList("BENCH_IMPLEMENTATIONS"),
    libraryEntry: Path.resolve(process.env.BENCH_LIBRARY ?? Path.join(repositoryRoot, "src", "index.ts")),
    candidateEntry: candidate === undefined || candidate.trim() === "" ? undefined : Path.resolve(candidate),
    probeIntervalMillis: readCount("BENCH_PROBE_INTERVAL_MS", 10, 1),
    serverDelayMillis: readCount("BENCH_SERVER_DELAY_MS", 0, 0),
    pollIntervalMillis: process.env.BENCH_POLL_INTERVAL_MS === undefined
      ? undefined
      : readCount("BENCH_POLL_INTERVAL_MS", 100, 1),
    startTimeoutMillis: readCount("BENCH_START_TIMEOUT_MS", 60_000, 1000),
    record,
    output: output === "-" ? undefined : Path.resolve(output ?? Path.join(repositoryRoot, "docs", "benchmarks.md"))
  }
}

/**
 * Returns the container command: busybox httpd serving `ok` on port 8080, after
 * BENCH_SERVER_DELAY_MS when set, to make the wait strategies poll.
 */
export const serverCommand = (settings: Settings): ReadonlyArray<string> => {
  const serve = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"
  const delay = settings.serverDelayMillis === 0 ? "" : `sleep ${(settings.serverDelayMillis / 1000).toFixed(3)} && `
  return ["sh", "-c", `${delay}${serve}`]
}

/** The container port the server listens on. */
export const serverPort = 8080

/** The label key on every container and network the benchmark creates. Its value is the run id. */
export const benchLabel = "io.effect-testcontainers.bench"
