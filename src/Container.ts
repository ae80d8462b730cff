/**
 * Containers as scoped resources: an immutable spec built with `pipe`, and a
 * scoped `start` that always removes what it created.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Container, Network, Wait } from "effect-testcontainers"
 *
 * const program = Effect.gen(function*() {
 *   const network = yield* Network.make()
 *   const web = yield* Container.make("nginx:1.27-alpine").pipe(
 *     Container.withExposedPorts(80),
 *     Container.withNetwork(network, { aliases: ["web"] }),
 *     Container.start
 *   )
 *   return yield* web.endpoint(80)
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
import { type Context, Duration, Effect, Exit, Layer, Pipeable, type Redacted, Scope } from "effect"
import { dual } from "effect/Function"
import type { ContainerError, EndpointError, EngineRequestError, ExecError } from "./Errors.ts"
import * as internal from "./internal/container.ts"
import type { ContainerInspect } from "./internal/inspect.ts"
import { withLiveClock } from "./internal/liveClock.ts"
import type { PortInput, Protocol } from "./internal/port.ts"
import type { StartedNetwork } from "./Network.ts"
import type { ConnectionMode, Endpoint, EndpointOptions } from "./services/ConnectionMode.ts"
import type { DockerEngine } from "./services/DockerEngine.ts"
import type { WaitStrategy } from "./Wait.ts"

export type { ContainerInspect } from "./internal/inspect.ts"
export type { PortInput, Protocol }

/**
 * A container port bound to a fixed host port.
 *
 * @since 0.1.0
 */
export interface PortBinding {
  readonly containerPort: PortInput
  readonly hostPort: number
  /** The host address to bind. Defaults to every address. */
  readonly hostIp?: string | undefined
}

/**
 * A network the container joins, with its aliases there.
 *
 * @since 0.1.0
 */
export interface NetworkAttachment {
  readonly network: string
  readonly aliases: ReadonlyArray<string>
}

/**
 * A host path or named volume mounted into the container.
 *
 * @since 0.1.0
 */
export interface Mount {
  readonly source: string
  readonly target: string
  readonly readOnly: boolean
}

/**
 * When the image is pulled: only when missing (the default), always, or never.
 *
 * @since 0.1.0
 */
export type PullPolicy = "missing" | "always" | "never"

/**
 * Credentials for the image's registry.
 *
 * @since 0.1.0
 */
export interface RegistryAuth {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * Everything needed to start a container. Build it with {@link make} and the
 * `with*` functions; each returns a new spec.
 *
 * @since 0.1.0
 */
export interface ContainerSpec extends Pipeable.Pipeable {
  readonly image: string
  readonly name: string | undefined
  readonly command: ReadonlyArray<string> | undefined
  readonly entrypoint: ReadonlyArray<string> | undefined
  readonly env: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
  readonly exposedPorts: ReadonlyArray<PortInput>
  readonly portBindings: ReadonlyArray<PortBinding>
  readonly networks: ReadonlyArray<NetworkAttachment>
  /** `host`, `none`, `bridge`, or the name of a network to join without aliases. */
  readonly networkMode: string | undefined
  readonly waitStrategy: WaitStrategy | undefined
  /** Covers create, network connects, start and wait; the pull is not counted. */
  readonly startupTimeout: Duration.Input
  /** Pause between two checks of a polling wait strategy. */
  readonly pollInterval: Duration.Input
  readonly pullPolicy: PullPolicy
  readonly auth: RegistryAuth | undefined
  readonly user: string | undefined
  readonly workingDir: string | undefined
  readonly hostname: string | undefined
  readonly mounts: ReadonlyArray<Mount>
  readonly tmpfs: Readonly<Record<string, string>>
  readonly extraHosts: ReadonlyArray<string>
  readonly privileged: boolean
}

const SpecProto = {
  pipe() {
    return Pipeable.pipeArguments(this, arguments)
  }
}

const makeSpec = (fields: Omit<ContainerSpec, "pipe">): ContainerSpec => Object.assign(Object.create(SpecProto), fields)

const update = (spec: ContainerSpec, fields: Partial<Omit<ContainerSpec, "pipe">>): ContainerSpec =>
  makeSpec({ ...spec, ...fields })

/**
 * The default startup timeout: 60 seconds.
 *
 * @since 0.1.0
 */
export const defaultStartupTimeout: Duration.Duration = Duration.seconds(60)

/**
 * The default pause between two checks of a polling wait strategy.
 *
 * @since 0.1.0
 */
export const defaultPollInterval: Duration.Duration = Duration.millis(100)

/**
 * Creates a spec for an image, such as `postgres:17-alpine`.
 *
 * @since 0.1.0
 */
export const make = (image: string): ContainerSpec =>
  makeSpec({
    image,
    name: undefined,
    command: undefined,
    entrypoint: undefined,
    env: {},
    labels: {},
    exposedPorts: [],
    portBindings: [],
    networks: [],
    networkMode: undefined,
    waitStrategy: undefined,
    startupTimeout: defaultStartupTimeout,
    pollInterval: defaultPollInterval,
    pullPolicy: "missing",
    auth: undefined,
    user: undefined,
    workingDir: undefined,
    hostname: undefined,
    mounts: [],
    tmpfs: {},
    extraHosts: [],
    privileged: false
  })

/**
 * Sets the container name. Without one, a unique `etc-` name is used.
 *
 * @since 0.1.0
 */
export const withName: {
  (name: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, name: string): ContainerSpec
} = dual(2, (spec: ContainerSpec, name: string) => update(spec, { name }))

/**
 * Replaces the image's command.
 *
 * @since 0.1.0
 */
export const withCommand: {
  (command: ReadonlyArray<string>): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, command: ReadonlyArray<string>): ContainerSpec
} = dual(2, (spec: ContainerSpec, command: ReadonlyArray<string>) => update(spec, { command }))

/**
 * Replaces the image's entrypoint.
 *
 * @since 0.1.0
 */
export const withEntrypoint: {
  (entrypoint: ReadonlyArray<string>): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, entrypoint: ReadonlyArray<string>): ContainerSpec
} = dual(2, (spec: ContainerSpec, entrypoint: ReadonlyArray<string>) => update(spec, { entrypoint }))

/**
 * Adds environment variables, replacing earlier values of the same names.
 *
 * @since 0.1.0
 */
export const withEnv: {
  (env: Readonly<Record<string, string>>): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, env: Readonly<Record<string, string>>): ContainerSpec
} = dual(
  2,
  (spec: ContainerSpec, env: Readonly<Record<string, string>>) => update(spec, { env: { ...spec.env, ...env } })
)

/**
 * Adds labels. The session labels this library sets cannot be replaced.
 *
 * @since 0.1.0
 */
export const withLabels: {
  (labels: Readonly<Record<string, string>>): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, labels: Readonly<Record<string, string>>): ContainerSpec
} = dual(
  2,
  (spec: ContainerSpec, labels: Readonly<Record<string, string>>) =>
    update(spec, { labels: { ...spec.labels, ...labels } })
)

/**
 * Exposes ports, each published on a random host port: `5432`, `"5432"`,
 * `"443/tcp"`, `"53/udp"`.
 *
 * @since 0.1.0
 */
export const withExposedPorts = (...ports: ReadonlyArray<PortInput>) => (spec: ContainerSpec): ContainerSpec =>
  update(spec, { exposedPorts: [...spec.exposedPorts, ...ports] })

/**
 * Binds a container port to a fixed host port, such as `"443/tcp"` to 8443.
 * The port is exposed too.
 *
 * @since 0.1.0
 */
export const withPortBinding: {
  (containerPort: PortInput, hostPort: number, hostIp?: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, containerPort: PortInput, hostPort: number, hostIp?: string): ContainerSpec
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "image" in args[0],
  (spec: ContainerSpec, containerPort: PortInput, hostPort: number, hostIp?: string) =>
    update(spec, { portBindings: [...spec.portBindings, { containerPort, hostPort, hostIp }] })
)

/**
 * Joins a network with optional aliases. A container may join several
 * networks, each with its own aliases. The first one is set when the
 * container is created, so it never lands on the default bridge.
 *
 * @since 0.1.0
 */
export const withNetwork: {
  (
    network: StartedNetwork | string,
    options?: { readonly aliases?: ReadonlyArray<string> }
  ): (spec: ContainerSpec) => ContainerSpec
  (
    spec: ContainerSpec,
    network: StartedNetwork | string,
    options?: { readonly aliases?: ReadonlyArray<string> }
  ): ContainerSpec
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "image" in args[0],
  (
    spec: ContainerSpec,
    network: StartedNetwork | string,
    options?: { readonly aliases?: ReadonlyArray<string> }
  ) =>
    update(spec, {
      networks: [...spec.networks, {
        network: typeof network === "string" ? network : network.name,
        aliases: options?.aliases ?? []
      }]
    })
)

/**
 * Sets the network mode: `host`, `none`, `bridge` (the default bridge), or
 * the name of a network to join without aliases.
 *
 * @since 0.1.0
 */
export const withNetworkMode: {
  (mode: "host" | "none" | "bridge" | (string & {})): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, mode: "host" | "none" | "bridge" | (string & {})): ContainerSpec
} = dual(2, (spec: ContainerSpec, networkMode: string) => update(spec, { networkMode }))

/**
 * Sets the wait strategy. Without one, the container waits for its exposed
 * TCP ports, or only for running when it exposes none.
 *
 * @since 0.1.0
 */
export const withWaitStrategy: {
  (waitStrategy: WaitStrategy): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, waitStrategy: WaitStrategy): ContainerSpec
} = dual(2, (spec: ContainerSpec, waitStrategy: WaitStrategy) => update(spec, { waitStrategy }))

/**
 * Sets the startup timeout, which covers create, network connects, start and
 * wait.
 *
 * @since 0.1.0
 */
export const withStartupTimeout: {
  (timeout: Duration.Input): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, timeout: Duration.Input): ContainerSpec
} = dual(
  2,
  (spec: ContainerSpec, timeout: Duration.Input) => update(spec, { startupTimeout: timeout })
)

/**
 * Sets the pause between two checks of a polling wait strategy.
 *
 * @since 0.1.0
 */
export const withPollInterval: {
  (interval: Duration.Input): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, interval: Duration.Input): ContainerSpec
} = dual(
  2,
  (spec: ContainerSpec, interval: Duration.Input) => update(spec, { pollInterval: interval })
)

/**
 * Sets when the image is pulled.
 *
 * @since 0.1.0
 */
export const withPullPolicy: {
  (pullPolicy: PullPolicy): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, pullPolicy: PullPolicy): ContainerSpec
} = dual(2, (spec: ContainerSpec, pullPolicy: PullPolicy) => update(spec, { pullPolicy }))

/**
 * Sets credentials for pulling the image.
 *
 * @since 0.1.0
 */
export const withRegistryAuth: {
  (auth: RegistryAuth): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, auth: RegistryAuth): ContainerSpec
} = dual(2, (spec: ContainerSpec, auth: RegistryAuth) => update(spec, { auth }))

/**
 * Sets the user the command runs as, such as `postgres` or `1000:1000`.
 *
 * @since 0.1.0
 */
export const withUser: {
  (user: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, user: string): ContainerSpec
} = dual(2, (spec: ContainerSpec, user: string) => update(spec, { user }))

/**
 * Sets the working directory of the command.
 *
 * @since 0.1.0
 */
export const withWorkingDir: {
  (workingDir: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, workingDir: string): ContainerSpec
} = dual(2, (spec: ContainerSpec, workingDir: string) => update(spec, { workingDir }))

/**
 * Sets the container's host name.
 *
 * @since 0.1.0
 */
export const withHostname: {
  (hostname: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, hostname: string): ContainerSpec
} = dual(2, (spec: ContainerSpec, hostname: string) => update(spec, { hostname }))

/**
 * Mounts a host path or named volume at `target`.
 *
 * @since 0.1.0
 */
export const withMount: {
  (source: string, target: string, options?: { readonly readOnly?: boolean }): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, source: string, target: string, options?: { readonly readOnly?: boolean }): ContainerSpec
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "image" in args[0],
  (spec: ContainerSpec, source: string, target: string, options?: { readonly readOnly?: boolean }) =>
    update(spec, { mounts: [...spec.mounts, { source, target, readOnly: options?.readOnly ?? false }] })
)

/**
 * Mounts a tmpfs at `target` with mount options such as `rw,size=64m`.
 *
 * @since 0.1.0
 */
export const withTmpfs: {
  (target: string, options?: string): (spec: ContainerSpec) => ContainerSpec
  (spec: ContainerSpec, target: string, options?: string): ContainerSpec
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "image" in args[0],
  (spec: ContainerSpec, target: string, options?: string) =>
    update(spec, { tmpfs: { ...spec.tmpfs, [target]: options ?? "" } })
)

/**
 * Adds `/etc/hosts` entries such as `host.docker.internal:host-gateway`.
 *
 * @since 0.1.0
 */
export const withExtraHosts = (...entries: ReadonlyArray<string>) => (spec: ContainerSpec): ContainerSpec =>
  update(spec, { extraHosts: [...spec.extraHosts, ...entries] })

/**
 * Runs the container privileged.
 *
 * @since 0.1.0
 */
export const withPrivileged = (spec: ContainerSpec): ContainerSpec => update(spec, { privileged: true })

/**
 * The output and exit code of a command run in a container.
 *
 * @since 0.1.0
 */
export interface ExecResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Settings of one command run in a container.
 *
 * @since 0.1.0
 */
export interface ExecOptions {
  /** Extra environment variables of the command. */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly workingDir?: string | undefined
  /** The user the command runs as, such as `postgres`. */
  readonly user?: string | undefined
}

/**
 * A started container. Endpoints follow the connection mode in force.
 *
 * @since 0.1.0
 */
export interface StartedContainer {
  readonly id: string
  readonly name: string
  readonly image: string
  /** The host to connect to, from the connection mode in force. */
  readonly host: string
  /** The networks the container is on, by name. */
  readonly networkNames: ReadonlyArray<string>
  /**
   * When the startup deadline began, in epoch milliseconds: after the image
   * was present, before the create call. The deadline ends one startup
   * timeout later.
   */
  readonly startupBeganAt: number
  /** The inspect data read when the container became ready. */
  readonly inspectData: ContainerInspect
  /** The host port a container port is published on. Fails when it is not published. */
  readonly mappedPort: (port: PortInput) => Effect.Effect<number, EndpointError>
  /** The host and port to connect to a container port under the connection mode in force. */
  readonly endpoint: (port: PortInput, options?: EndpointOptions) => Effect.Effect<Endpoint, EndpointError>
  /**
   * The container's IP address on a network. Fails with `EndpointError`,
   * listing the container's networks, when it is not on that network.
   */
  readonly ipAddress: (network: string | StartedNetwork) => Effect.Effect<string, EndpointError>
  /** Runs a command in the container and collects its output. */
  readonly exec: (command: ReadonlyArray<string>, options?: ExecOptions) => Effect.Effect<ExecResult, ExecError>
  /** The container's output so far: its stdout, then its stderr. */
  readonly logs: Effect.Effect<string, EngineRequestError>
  /** Fresh inspect data. */
  readonly inspect: Effect.Effect<ContainerInspect, EngineRequestError>
}

/**
 * Starts a container and registers its removal with the scope. Pulls the
 * image when missing, creates the container on its first network with its
 * aliases, connects the other networks, starts it and runs the wait
 * strategy, all under one startup timeout. Removal (with anonymous volumes)
 * is registered as soon as the engine returns an id, so a failed wait, a
 * timeout or an interruption in the middle of the start leaves nothing
 * behind. Fails with `InvalidSpecError` before any engine call when the spec
 * is invalid. Waits and the timeout use the wall clock, also under a
 * TestClock.
 *
 * @since 0.1.0
 */
export const start = (
  spec: ContainerSpec
): Effect.Effect<StartedContainer, ContainerError, DockerEngine | ConnectionMode | Scope.Scope> =>
  withLiveClock(internal.start(spec))

/**
 * Starts several containers concurrently. They share a scope whose
 * finalizers run in parallel, so they are also removed concurrently. When
 * one start fails, the containers already started are removed at once and
 * the first error is returned. A tuple of specs gives a tuple of started
 * containers, so `const [db, cache] = yield* Container.startAll([a, b])` is
 * typed without `undefined`.
 *
 * @since 0.1.0
 */
export const startAll = <const Specs extends ReadonlyArray<ContainerSpec>>(
  specs: Specs
): Effect.Effect<
  { readonly [K in keyof Specs]: StartedContainer },
  ContainerError,
  DockerEngine | ConnectionMode | Scope.Scope
> =>
  Effect.gen(function*() {
    const parentScope = yield* Scope.Scope
    const scope = yield* Scope.fork(parentScope, "parallel")
    const started = yield* Effect.forEach(specs, start, { concurrency: "unbounded" }).pipe(
      Scope.provide(scope),
      Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)
    )
    // forEach keeps the order and the length of `specs`.
    return started as unknown as { readonly [K in keyof Specs]: StartedContainer }
  })

/**
 * A Layer that starts the container when built and removes it when released.
 *
 * @since 0.1.0
 */
export const layer = <Self, Identifier extends string>(
  service: Context.Service<Self, StartedContainer> & { readonly key: Identifier },
  spec: ContainerSpec
): Layer.Layer<Self, ContainerError, DockerEngine | ConnectionMode> => Layer.effect(service)(start(spec))
