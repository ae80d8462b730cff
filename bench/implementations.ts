/**
 * The implementations under comparison. Each one starts the same container
 * (the toolbox image serving HTTP on one published port), returns its host
 * port, and releases it. Every library is imported lazily in `importModules`,
 * so a child process can time the import alone.
 */
import { createRequire } from "node:module"
import * as Path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { pathToFileURL } from "node:url"
import type * as Library from "../src/index.ts"
import { benchLabel, serverCommand, serverPort, type Settings } from "./settings.ts"

/** A user-defined network created through an implementation's own API. */
export interface BenchNetwork {
  readonly name: string
  readonly id: string
  /** The implementation's own network object, passed back to its container options. */
  readonly native: unknown
  readonly remove: () => Promise<void>
}

/** The network a container joins, with its alias there. */
export interface StartOptions {
  readonly network?: BenchNetwork | undefined
  readonly alias?: string | undefined
}

/** A started container: its published port and how to stop and remove it. */
export interface Started {
  readonly hostPort: number
  readonly release: () => Promise<void>
}

/** Containers started together, released together. */
export interface StartedGroup {
  readonly hostPorts: ReadonlyArray<number>
  readonly release: () => Promise<void>
}

/** A loaded implementation with its engine client. */
export interface Session {
  /** Sets up the engine client and makes the first engine call. */
  readonly connect: () => Promise<void>
  /** Starts one container and resolves when the implementation counts it as ready. */
  readonly startOne: (options?: StartOptions) => Promise<Started>
  /** Starts `count` containers concurrently on `network`, as a user of this implementation would. */
  readonly startMany: (count: number, network: BenchNetwork) => Promise<StartedGroup>
  readonly createNetwork: () => Promise<BenchNetwork>
  readonly close: () => Promise<void>
}

/** The library an implementation uses. Import figures are per library. */
export type LibraryName = "dockerode" | "effect-testcontainers" | "testcontainers"

/** One implementation under comparison. */
export interface Implementation {
  /** The name used in BENCH_IMPLEMENTATIONS. */
  readonly id: string
  /** The name shown in the tables. */
  readonly label: string
  readonly library: LibraryName
  /** The readiness check the implementation runs before the benchmark's own HTTP check. */
  readonly wait: string
  /** Imports the implementation's modules and returns a session factory. */
  readonly importModules: (settings: Settings) => Promise<(context: SessionContext) => Session>
}

/** Values every session needs. */
export interface SessionContext {
  readonly settings: Settings
  /** The value of the benchmark label on everything this run creates. */
  readonly runId: string
}

const aliasesFor = (count: number): ReadonlyArray<string> => Array.from({ length: count }, (_, index) => `web-${index}`)

/** Starts containers with one `startOne` each, concurrently, and releases them concurrently. */
const startManyConcurrently = async (session: Pick<Session, "startOne">, count: number, network: BenchNetwork) => {
  const results = await Promise.allSettled(aliasesFor(count).map((alias) => session.startOne({ network, alias })))
  const started = results.flatMap((result) => result.status === "fulfilled" ? [result.value] : [])
  const release = async () => {
    await Promise.all(started.map((container) => container.release()))
  }
  const failure = results.find((result) => result.status === "rejected")
  if (failure !== undefined) {
    await release()
    throw failure.reason
  }
  return { hostPorts: started.map((container) => container.hostPort), release }
}

/**
 * Retries a network removal for up to 10 seconds while the engine still
 * reports active endpoints: Docker 20.10 can return from a container removal
 * before the container's endpoint on a user-defined network is gone.
 */
export const retryWhileEndpointsActive = async (remove: () => Promise<unknown>): Promise<void> => {
  const deadline = performance.now() + 10_000
  while (true) {
    try {
      await remove()
      return
    } catch (error) {
      const active = error instanceof Error && /active endpoints/i.test(error.message)
      if (!active || performance.now() > deadline) {
        throw error
      }
      await sleep(200)
    }
  }
}

/**
 * Makes both libraries dial published ports on localhost. Run inside a
 * container, testcontainers-node would otherwise dial the default bridge
 * gateway, and this library's mode detection could pick a container address.
 */
const pinLoopback = () => {
  process.env.TESTCONTAINERS_HOST_OVERRIDE = "localhost"
  process.env.TESTCONTAINERS_CONNECTION_MODE = "docker_host"
}

// ---------------------------------------------------------------------------
// Raw dockerode: the floor.

const rawDockerode: Implementation = {
  id: "dockerode",
  label: "dockerode (floor)",
  library: "dockerode",
  wait: "none; the benchmark's HTTP check polls every BENCH_PROBE_INTERVAL_MS",
  importModules: async () => {
    const { default: Dockerode } = await import("dockerode")
    return ({ runId, settings }) => {
      const docker = new Dockerode({ socketPath: engineSocketPath() })
      const labels = { [benchLabel]: runId }
      const portKey = `${serverPort}/tcp`

      const startOne = async (options: StartOptions = {}): Promise<Started> => {
        const network = options.network
        const container = await docker.createContainer({
          Image: settings.image,
          Cmd: [...serverCommand(settings)],
          Labels: labels,
          ExposedPorts: { [portKey]: {} },
          HostConfig: {
            PortBindings: { [portKey]: [{ HostIp: "", HostPort: "" }] },
            ...(network === undefined ? {} : { NetworkMode: network.name })
          },
          ...(network === undefined ? {} : {
            NetworkingConfig: {
              EndpointsConfig: { [network.name]: { Aliases: options.alias === undefined ? [] : [options.alias] } }
            }
          })
        })
        const release = async () => {
          await container.remove({ force: true, v: true })
        }
        try {
          await container.start()
          const inspect = await container.inspect()
          const hostPort = inspect.NetworkSettings.Ports[portKey]?.[0]?.HostPort
          if (hostPort === undefined) {
            throw new Error(`container ${container.id} has no host port for ${portKey}`)
          }
          return { hostPort: Number(hostPort), release }
        } catch (error) {
          await release()
          throw error
        }
      }

      return {
        connect: async () => {
          await docker.version()
        },
        startOne,
        startMany: (count, network) => startManyConcurrently({ startOne }, count, network),
        createNetwork: async () => {
          const name = `etc-bench-${Math.random().toString(16).slice(2, 10)}`
          const network = await docker.createNetwork({ Name: name, Driver: "bridge", Labels: labels })
          return {
            name,
            id: network.id,
            native: network,
            remove: () => retryWhileEndpointsActive(() => network.remove())
          }
        },
        close: async () => {}
      }
    }
  }
}

/** Returns the engine socket path from `DOCKER_HOST` (`unix://` only) or the default path. */
export const engineSocketPath = (): string => {
  const host = process.env.DOCKER_HOST
  if (host === undefined || host === "") {
    return "/var/run/docker.sock"
  }
  if (!host.startsWith("unix://")) {
    throw new Error(`the benchmark supports only a unix:// DOCKER_HOST, got ${JSON.stringify(host)}`)
  }
  return host.slice("unix://".length)
}

// ---------------------------------------------------------------------------
// effect-testcontainers: this library.

type LibraryWait = "listening-ports" | "http"

const effectTestcontainers = (
  id: string,
  label: string,
  wait: LibraryWait,
  description: string,
  variant: {
    /** The finalizer strategy of the scope that parallel starts share. */
    readonly groupFinalizers: "sequential" | "parallel"
    /** The library's entry module. */
    readonly entry: (settings: Settings) => string
  } = { groupFinalizers: "sequential", entry: (settings) => settings.libraryEntry }
): Implementation => ({
  id,
  label,
  library: "effect-testcontainers",
  wait: description,
  importModules: async (settings) => {
    pinLoopback()
    const lib = (await import(pathToFileURL(variant.entry(settings)).href)) as typeof Library
    const { Effect, Exit, Layer, ManagedRuntime, References, Scope } = await import("effect")
    const { Container, Network, Testcontainers, Wait } = lib

    return ({ runId }) => {
      // Warn hides the Info lines that each start logs, as testcontainers-node logs nothing by default either.
      const runtime = ManagedRuntime.make(
        Testcontainers.layer.pipe(Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Warn")))
      )

      const spec = (options: StartOptions) => {
        let spec = Container.make(settings.image).pipe(
          Container.withExposedPorts(serverPort),
          Container.withCommand(serverCommand(settings)),
          Container.withLabels({ [benchLabel]: runId }),
          Container.withWaitStrategy(wait === "http" ? Wait.forHttp("/", serverPort) : Wait.forListeningPorts())
        )
        if (settings.pollIntervalMillis !== undefined) {
          spec = spec.pipe(Container.withPollInterval(settings.pollIntervalMillis))
        }
        if (options.network !== undefined) {
          spec = spec.pipe(
            Container.withNetwork(options.network.native as Library.Network.StartedNetwork, {
              aliases: options.alias === undefined ? [] : [options.alias]
            })
          )
        }
        return spec
      }

      const startOne = async (options: StartOptions = {}): Promise<Started> => {
        const scope = await runtime.runPromise(Scope.make())
        const release = () => runtime.runPromise(Scope.close(scope, Exit.void))
        try {
          const hostPort = await runtime.runPromise(
            Container.start(spec(options)).pipe(
              Effect.flatMap((container) => container.mappedPort(serverPort)),
              Scope.provide(scope)
            )
          )
          return { hostPort, release }
        } catch (error) {
          await release()
          throw error
        }
      }

      // One scope for the group, as `Effect.scoped` gives a user.
      const startMany = async (count: number, network: BenchNetwork): Promise<StartedGroup> => {
        const scope = await runtime.runPromise(Scope.make(variant.groupFinalizers))
        const release = () => runtime.runPromise(Scope.close(scope, Exit.void))
        try {
          // Container.startAll starts them concurrently and removes them concurrently.
          const hostPorts = await runtime.runPromise(
            Container.startAll(aliasesFor(count).map((alias) => spec({ network, alias }))).pipe(
              Effect.flatMap((containers) =>
                Effect.forEach(containers, (container) => container.mappedPort(serverPort))
              ),
              Scope.provide(scope)
            )
          )
          return { hostPorts, release }
        } catch (error) {
          await release()
          throw error
        }
      }

      const createNetwork = async (): Promise<BenchNetwork> => {
        const scope = await runtime.runPromise(Scope.make())
        const network = await runtime.runPromise(
          Network.make({ labels: { [benchLabel]: runId } }).pipe(Scope.provide(scope))
        )
        return {
          name: network.name,
          id: network.id,
          native: network,
          remove: () => runtime.runPromise(Scope.close(scope, Exit.void))
        }
      }

      return {
        connect: () => runtime.runPromise(Effect.asVoid(Effect.service(lib.DockerEngine.DockerEngine))),
        startOne,
        startMany,
        createNetwork,
        close: () => runtime.dispose()
      }
    }
  }
})

// ---------------------------------------------------------------------------
// testcontainers-node, loaded from bench/node_modules. Only the members used
// here are typed, so type checking does not need the package installed.

interface TcStartedContainer {
  getMappedPort(port: number): number
  stop(): Promise<unknown>
}

interface TcStartedNetwork {
  getName(): string
  getId(): string
  stop(): Promise<unknown>
}

interface TcGenericContainer {
  withCommand(command: Array<string>): TcGenericContainer
  withExposedPorts(...ports: Array<number>): TcGenericContainer
  withLabels(labels: Record<string, string>): TcGenericContainer
  withNetwork(network: TcStartedNetwork): TcGenericContainer
  withNetworkAliases(...aliases: Array<string>): TcGenericContainer
  withWaitStrategy(strategy: unknown): TcGenericContainer
  withStartupTimeout(millis: number): TcGenericContainer
  start(): Promise<TcStartedContainer>
}

interface TcModule {
  readonly GenericContainer: new(image: string) => TcGenericContainer
  readonly Network: new() => { start(): Promise<TcStartedNetwork> }
  readonly Wait: {
    forListeningPorts(): unknown
    forHttp(path: string, port: number): unknown
  }
  readonly getContainerRuntimeClient: () => Promise<unknown>
}

/** The folder holding the benchmark's own package.json and node_modules. */
export const benchDirectory = import.meta.dirname

/** Resolves testcontainers-node from bench/node_modules. Throws when it is not installed. */
export const resolveTestcontainers = (): string =>
  createRequire(Path.join(benchDirectory, "package.json")).resolve("testcontainers")

type TcWait = "default" | "listening-ports" | "http"

const testcontainersNode = (id: string, label: string, wait: TcWait, description: string): Implementation => ({
  id,
  label,
  library: "testcontainers",
  wait: description,
  importModules: async (settings) => {
    // The reaper needs an image pull, which this benchmark must not cause.
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true"
    pinLoopback()
    const imported = await import(pathToFileURL(resolveTestcontainers()).href) as { default?: TcModule } & TcModule
    const tc: TcModule = imported.default ?? imported

    return ({ runId }) => {
      const startOne = async (options: StartOptions = {}): Promise<Started> => {
        let container = new tc.GenericContainer(settings.image)
          .withCommand([...serverCommand(settings)])
          .withExposedPorts(serverPort)
          .withLabels({ [benchLabel]: runId })
          .withStartupTimeout(settings.startTimeoutMillis)
        if (options.network !== undefined) {
          container = container.withNetwork(options.network.native as TcStartedNetwork)
          if (options.alias !== undefined) {
            container = container.withNetworkAliases(options.alias)
          }
        }
        if (wait === "listening-ports") {
          container = container.withWaitStrategy(tc.Wait.forListeningPorts())
        } else if (wait === "http") {
          container = container.withWaitStrategy(tc.Wait.forHttp("/", serverPort))
        }
        const started = await container.start()
        return {
          hostPort: started.getMappedPort(serverPort),
          release: async () => {
            await started.stop()
          }
        }
      }

      return {
        connect: async () => {
          await tc.getContainerRuntimeClient()
        },
        startOne,
        startMany: (count, network) => startManyConcurrently({ startOne }, count, network),
        createNetwork: async () => {
          const network = await new tc.Network().start()
          return {
            name: network.getName(),
            id: network.getId(),
            native: network,
            remove: () => retryWhileEndpointsActive(() => network.stop())
          }
        },
        close: async () => {}
      }
    }
  }
})

/** Every implementation, in the order the runs interleave them. */
export const allImplementations: ReadonlyArray<Implementation> = [
  rawDockerode,
  effectTestcontainers(
    "etc",
    "effect-testcontainers",
    "listening-ports",
    "Wait.forListeningPorts(): exec `cat /proc/net/tcp` + TCP connect, every 100 ms"
  ),
  testcontainersNode(
    "tc-default",
    "testcontainers-node, default wait",
    "default",
    "default: image health check lookup, then listening ports"
  ),
  testcontainersNode(
    "tc-ports",
    "testcontainers-node, listening ports",
    "listening-ports",
    "Wait.forListeningPorts(): 3 execs + TCP connect, every 100 ms"
  ),
  effectTestcontainers(
    "etc-http",
    "effect-testcontainers, HTTP wait",
    "http",
    "Wait.forHttp(\"/\", 8080): GET every 100 ms"
  ),
  effectTestcontainers(
    "etc-parallel-scope",
    "effect-testcontainers, parallel scope",
    "listening-ports",
    "Wait.forListeningPorts(); parallel starts share a `Scope.make(\"parallel\")`",
    { groupFinalizers: "parallel", entry: (settings) => settings.libraryEntry }
  ),
  testcontainersNode(
    "tc-http",
    "testcontainers-node, HTTP wait",
    "http",
    "Wait.forHttp(\"/\", 8080): GET every 1000 ms"
  )
]

/**
 * This library loaded from BENCH_CANDIDATE, such as a changed copy of src/,
 * so a change can be compared with the current code in one interleaved run.
 */
const candidate: Implementation = effectTestcontainers(
  "etc-candidate",
  "effect-testcontainers, candidate",
  "listening-ports",
  "Wait.forListeningPorts(), from BENCH_CANDIDATE",
  {
    groupFinalizers: "sequential",
    entry: (settings) => {
      if (settings.candidateEntry === undefined) {
        throw new Error("etc-candidate needs BENCH_CANDIDATE, the path of the candidate library's index.ts")
      }
      return settings.candidateEntry
    }
  }
)

/** The implementations run when BENCH_IMPLEMENTATIONS is unset; `all` adds the HTTP-wait variants. */
export const defaultImplementationIds: ReadonlyArray<string> = ["dockerode", "etc", "tc-default", "tc-ports"]

const knownImplementations = (settings: Settings): ReadonlyArray<Implementation> =>
  settings.candidateEntry === undefined ? allImplementations : [...allImplementations, candidate]

/**
 * Selects the implementations named in the settings. The raw dockerode floor
 * always runs first, and the candidate runs whenever BENCH_CANDIDATE is set.
 */
export const selectImplementations = (settings: Settings): ReadonlyArray<Implementation> => {
  const known = knownImplementations(settings)
  const wanted = settings.implementations ?? defaultImplementationIds
  if (wanted.includes("all")) {
    return known
  }
  const unknown = wanted.filter((id) => !known.some((implementation) => implementation.id === id))
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_IMPLEMENTATIONS names unknown implementations ${JSON.stringify(unknown)}; known: ${
        known.map((implementation) => JSON.stringify(implementation.id)).join(", ")
      }, or all`
    )
  }
  return known.filter((implementation) =>
    implementation.id === rawDockerode.id || implementation.id === candidate.id || wanted.includes(implementation.id)
  )
}

/** Finds one implementation by id; throws naming the id. */
export const findImplementation = (settings: Settings, id: string): Implementation => {
  const found = knownImplementations(settings).find((implementation) => implementation.id === id)
  if (found === undefined) {
    throw new Error(`unknown implementation ${JSON.stringify(id)}`)
  }
  return found
}
