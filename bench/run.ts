/**
 * The benchmark: raw dockerode, this library and testcontainers-node start
 * the same container on the same engine, interleaved run by run.
 *
 * Phases, each interleaving the implementations (A, B, C, A, B, C, ...):
 * 1. cold: a child process per sample times the import, the engine client
 *    setup with the first engine call, and the first container start;
 * 2. warm: single starts in this process, after one untimed start each;
 * 3. parallel: BENCH_PARALLEL_SIZE containers started at once on one
 *    user-defined network;
 * 4. profile: single starts with every engine call and TCP connect recorded.
 *
 * A start counts as ready when the benchmark's own HTTP GET from this process
 * gets `200 ok`. Prints the tables and writes them to docs/benchmarks.md.
 * See docs/benchmarks.md for the environment variables.
 */
import Dockerode from "dockerode"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { ColdSample } from "./child.ts"
import {
  benchDirectory,
  engineSocketPath,
  type Implementation,
  resolveTestcontainers,
  retryWhileEndpointsActive,
  selectImplementations,
  type Session
} from "./implementations.ts"
import { probeUntilReady } from "./probe.ts"
import { installRecorder, type Recording, startRecording, stopRecording } from "./recorder.ts"
import { type EngineFacts, type ProfileSample, type Results, type SingleSample, writeReport } from "./report.ts"
import { benchLabel, readSettings, repositoryRoot, type Settings } from "./settings.ts"

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`)

/** Installs testcontainers-node into bench/node_modules when it is missing. */
const ensureBenchDependencies = (implementations: ReadonlyArray<Implementation>) => {
  if (!implementations.some((implementation) => implementation.library === "testcontainers")) {
    return
  }
  try {
    resolveTestcontainers()
  } catch {
    log("testcontainers-node is not installed; running npm --prefix bench ci")
    const result = ChildProcess.spawnSync("npm", ["--prefix", benchDirectory, "ci", "--no-audit", "--no-fund"], {
      stdio: "inherit"
    })
    if (result.status !== 0) {
      throw new Error("npm --prefix bench ci failed; install the benchmark's dependencies and run again")
    }
  }
}

const readEngineFacts = async (docker: Dockerode, settings: Settings): Promise<EngineFacts> => {
  const version = await docker.version()
  const info = await docker.info() as { NCPU: number; MemTotal: number; Driver: string; KernelVersion: string }
  try {
    await docker.getImage(settings.image).inspect()
  } catch {
    throw new Error(`the image ${settings.image} is not on the engine; build it or set BENCH_IMAGE`)
  }
  return {
    serverVersion: version.Version,
    apiVersion: version.ApiVersion,
    os: `${version.Os}/${version.Arch}`,
    kernel: info.KernelVersion,
    storageDriver: info.Driver,
    engineCpus: info.NCPU,
    engineMemoryBytes: info.MemTotal
  }
}

// ---------------------------------------------------------------------------
// Cold samples: one child process each.

const runChild = (implementation: Implementation, runId: string, timeoutMillis: number): Promise<ColdSample> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, [Path.join(benchDirectory, "child.ts"), implementation.id], {
      env: { ...process.env, BENCH_RUN_ID: runId },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMillis)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      const line = stdout.trim().split("\n").pop() ?? ""
      if (code !== 0 || line === "") {
        reject(new Error(`cold sample of ${implementation.id} failed (exit code ${code}): ${stderr.trim()}`))
        return
      }
      resolve(JSON.parse(line) as ColdSample)
    })
  })

// ---------------------------------------------------------------------------
// In-process samples.

const measureSingle = async (session: Session, settings: Settings): Promise<SingleSample> => {
  const startedAt = performance.now()
  const started = await session.startOne()
  const probeFailures = await probeUntilReady(
    started.hostPort,
    settings.probeIntervalMillis,
    settings.startTimeoutMillis
  )
  const readyAt = performance.now()
  await started.release()
  return { startMillis: readyAt - startedAt, releaseMillis: performance.now() - readyAt, probeFailures }
}

const measureParallel = async (
  session: Session,
  settings: Settings,
  createdNetworks: Set<string>
): Promise<SingleSample> => {
  const network = await session.createNetwork()
  createdNetworks.add(network.id)
  try {
    const startedAt = performance.now()
    const group = await session.startMany(settings.parallelSize, network)
    const failures = await Promise.all(
      group.hostPorts.map((port) => probeUntilReady(port, settings.probeIntervalMillis, settings.startTimeoutMillis))
    )
    const readyAt = performance.now()
    await group.release()
    return {
      startMillis: readyAt - startedAt,
      releaseMillis: performance.now() - readyAt,
      probeFailures: failures.reduce((sum, count) => sum + count, 0)
    }
  } finally {
    await network.remove()
  }
}

const measureProfiled = async (session: Session, settings: Settings): Promise<ProfileSample> => {
  const recording: Recording = startRecording()
  try {
    const startedAt = performance.now()
    const started = await session.startOne()
    await probeUntilReady(started.hostPort, settings.probeIntervalMillis, settings.startTimeoutMillis)
    const readyAt = performance.now()
    await started.release()
    const releasedAt = performance.now()
    return { startedAt, readyAt, releasedAt, hostPort: started.hostPort, recording }
  } finally {
    stopRecording()
  }
}

// ---------------------------------------------------------------------------
// Clean-up of everything this run created.

const sweep = async (docker: Dockerode, runId: string, createdNetworks: ReadonlySet<string>) => {
  const filters = JSON.stringify({ label: [`${benchLabel}=${runId}`] })
  const containers = await docker.listContainers({ all: true, filters })
  for (const container of containers) {
    log(`removing leftover container ${container.Id.slice(0, 12)}`)
    await docker.getContainer(container.Id).remove({ force: true, v: true }).catch(() => undefined)
  }
  const labelled = await docker.listNetworks({ filters })
  const ids = new Set([...labelled.map((network) => network.Id), ...createdNetworks])
  for (const id of ids) {
    await retryWhileEndpointsActive(() => docker.getNetwork(id).remove()).then(
      () => log(`removed leftover network ${id.slice(0, 12)}`),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error)
        if (!/no such network|not found/i.test(message)) {
          log(`could not remove network ${id}: ${message}; remove it with docker network rm ${id}`)
        }
      }
    )
  }
}

/** Counts running containers that this run did not create, because other work on the engine adds noise. */
const countForeignContainers = async (docker: Dockerode, runId: string): Promise<number> => {
  const running = await docker.listContainers()
  return running.filter((container) => container.Labels[benchLabel] !== runId).length
}

// ---------------------------------------------------------------------------

const benchCommand = (): string => {
  const variables = Object.entries(process.env)
    .filter(([name]) => name.startsWith("BENCH_") && name !== "BENCH_RUN_ID")
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([name, value]) => `${name}=${value}`)
  return [...variables, "npm run bench"].join(" ")
}

const main = async () => {
  const settings = readSettings()
  const implementations = selectImplementations(settings)
  ensureBenchDependencies(implementations)

  const runId = Crypto.randomBytes(6).toString("hex")
  const docker = new Dockerode({ socketPath: engineSocketPath() })
  const engine = await readEngineFacts(docker, settings)
  const createdNetworks = new Set<string>()

  const interrupt = () => {
    log("interrupted; removing what this run created")
    sweep(docker, runId, createdNetworks).finally(() => process.exit(130))
  }
  process.once("SIGINT", interrupt)
  process.once("SIGTERM", interrupt)

  const results: Results = {
    implementations,
    cold: new Map(),
    warm: new Map(),
    parallel: new Map(),
    profile: new Map()
  }
  const sessions = new Map<string, Session>()
  const startedAt = Date.now()
  let foreignContainers = 0
  const loadAverages: Array<number> = []
  const noteForeignContainers = async () => {
    foreignContainers = Math.max(foreignContainers, await countForeignContainers(docker, runId))
    loadAverages.push(Os.loadavg()[0] ?? 0)
  }

  try {
    log(`run ${runId}: ${implementations.map((implementation) => implementation.id).join(", ")}`)

    for (let round = 1; round <= settings.coldRuns; round++) {
      log(`cold round ${round}/${settings.coldRuns}`)
      await noteForeignContainers()
      for (const implementation of implementations) {
        const sample = await runChild(implementation, runId, settings.startTimeoutMillis + 30_000)
        push(results.cold, implementation.id, sample)
      }
    }

    for (const implementation of implementations) {
      const makeSession = await implementation.importModules(settings)
      const session = makeSession({ settings, runId })
      sessions.set(implementation.id, session)
      await session.connect()
      await measureSingle(session, settings)
    }

    for (let round = 1; round <= settings.warmRuns; round++) {
      log(`warm round ${round}/${settings.warmRuns}`)
      await noteForeignContainers()
      for (const implementation of implementations) {
        push(results.warm, implementation.id, await measureSingle(sessions.get(implementation.id)!, settings))
      }
    }

    for (let round = 1; round <= settings.parallelRuns; round++) {
      log(`parallel round ${round}/${settings.parallelRuns} (${settings.parallelSize} containers)`)
      await noteForeignContainers()
      for (const implementation of implementations) {
        const sample = await measureParallel(sessions.get(implementation.id)!, settings, createdNetworks)
        push(results.parallel, implementation.id, sample)
      }
    }

    if (settings.profileRuns > 0) {
      installRecorder()
      for (let round = 1; round <= settings.profileRuns; round++) {
        log(`profile round ${round}/${settings.profileRuns}`)
        await noteForeignContainers()
        for (const implementation of implementations) {
          const sample = await measureProfiled(sessions.get(implementation.id)!, settings)
          push(results.profile, implementation.id, sample)
        }
      }
    }
  } finally {
    for (const session of sessions.values()) {
      await session.close().catch(() => undefined)
    }
    await sweep(docker, runId, createdNetworks)
  }

  const commit = ChildProcess.spawnSync("git", ["-C", repositoryRoot, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8"
  }).stdout.trim()
  const sourceChanged = ChildProcess.spawnSync("git", ["-C", repositoryRoot, "status", "--porcelain", "--", "src"], {
    encoding: "utf8"
  }).stdout.trim() !== ""

  await writeReport({
    settings,
    results,
    engine,
    machine: {
      cpus: Os.availableParallelism(),
      cpuModel: Os.cpus()[0]?.model ?? "unknown",
      memoryBytes: Os.totalmem(),
      node: process.version,
      testcontainersVersion: testcontainersVersion()
    },
    command: benchCommand(),
    foreignContainers,
    loadAverages,
    commit: sourceChanged ? `${commit} with uncommitted changes in src/` : commit,
    date: new Date().toISOString(),
    durationSeconds: (Date.now() - startedAt) / 1000
  })
}

const push = <A>(map: Map<string, Array<A>>, key: string, value: A) => {
  const list = map.get(key)
  if (list === undefined) {
    map.set(key, [value])
  } else {
    list.push(value)
  }
}

const testcontainersVersion = (): string | undefined => {
  try {
    const entry = resolveTestcontainers()
    const manifest = Path.join(entry.slice(0, entry.lastIndexOf(`${Path.sep}build${Path.sep}`)), "package.json")
    return (JSON.parse(Fs.readFileSync(manifest, "utf8")) as { version: string }).version
  } catch {
    return undefined
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? error.stack ?? error.message : String(error))
    process.exit(1)
  }
)
