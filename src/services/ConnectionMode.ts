/**
 * How the test process reaches a container: the connection mode service.
 *
 * `docker_host` dials the engine's host and the published port, which works
 * whenever the test process runs on the engine host or reaches it over TCP.
 * `bridge_ip` dials the container's IP on its network and the container port,
 * for a test process in a sibling container (Docker-outside-of-Docker).
 * `gateway_ip` dials the network's gateway and the published port, for a test
 * process in a container that the engine does not know (Docker-in-Docker).
 *
 * `layerFromEnv` reads `TESTCONTAINERS_CONNECTION_MODE` (or `connection.mode`
 * in `~/.testcontainers.properties`) and detects the mode when neither is set.
 * `layer("bridge_ip")` fixes the mode, for tests.
 *
 * @since 0.1.0
 */
import type Dockerode from "dockerode"
import { Config, Context, Effect, Layer, Option, Result, Schema } from "effect"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { EndpointError, type EngineRequestError } from "../Errors.ts"
import {
  collectContainerHints,
  decideFromLocalFacts,
  decideInContainer,
  type DetectionProbes,
  engineBridgeGateways,
  findOwnContainer,
  type OwnContainer,
  type OwnContainerLookup,
  systemProbes
} from "../internal/detect.ts"
import { type Attachment, type HostAddress, resolveEndpoint } from "../internal/endpoint.ts"
import type { ContainerInspect } from "../internal/inspect.ts"
import { type ContainerPort, portKey } from "../internal/port.ts"
import { DockerEngine } from "./DockerEngine.ts"
import * as TestcontainersConfig from "./TestcontainersConfig.ts"

export type { DetectionProbes, OwnContainer } from "../internal/detect.ts"

/**
 * The connection modes: `bridge_ip` dials the container's IP on its network
 * and the container port, `gateway_ip` dials the network gateway and the
 * mapped port, `docker_host` dials the engine's host and the mapped port.
 *
 * @since 0.1.0
 */
export const Mode = Schema.Literals(["bridge_ip", "gateway_ip", "docker_host"]).annotate({
  description: "How the test process reaches a container: bridge_ip, gateway_ip or docker_host"
})

/**
 * @since 0.1.0
 */
export type Mode = typeof Mode.Type

/**
 * A host and port the test process can connect to. The host is a name or a
 * bare IP address; an IPv6 address needs brackets in a URL.
 *
 * @since 0.1.0
 */
export interface Endpoint {
  readonly host: string
  readonly port: number
}

/**
 * Options of endpoint resolution.
 *
 * @since 0.1.0
 */
export interface EndpointOptions {
  /** The network whose address or gateway to use when the container is on several. */
  readonly network?: string | undefined
}

/**
 * The connection mode service.
 *
 * @since 0.1.0
 */
export class ConnectionMode extends Context.Service<ConnectionMode, {
  readonly mode: Mode
  /** Why this mode is in force: the variable, the file or the detection that chose it. */
  readonly reason: string
  /** The host dialled in `docker_host` mode. */
  readonly dockerHost: string
  /** The container this process runs in, when the engine found it. */
  readonly ownContainer?: OwnContainer | undefined
  /**
   * Resolves the endpoint of a container port from the container's inspect
   * data. Fails with `EndpointError` when the port is not published (in the
   * modes that need it), or when the container is on several networks and
   * `options.network` names none of them. Makes no engine or DNS call, so it
   * can run with `Effect.runSync`.
   */
  readonly resolve: (
    inspect: ContainerInspect,
    port: ContainerPort,
    options?: EndpointOptions
  ) => Effect.Effect<Endpoint, EndpointError>
  /**
   * Runs after a container starts and before its wait strategy, so the test
   * process can reach it. In `bridge_ip` mode with a known own container, it
   * connects the container to a network of this process's container when they
   * share none. Fails with `EndpointError` when there is no network to join,
   * and with `EngineRequestError` when the engine rejects the connection.
   */
  readonly prepare: (inspect: ContainerInspect) => Effect.Effect<void, EndpointError | EngineRequestError>
}>()("effect-testcontainers/ConnectionMode") {}

/**
 * Settings of the connection mode service.
 *
 * @since 0.1.0
 */
export interface ConnectionModeSettings {
  readonly mode: Mode
  /** The reason this mode is in force, for logs and errors. */
  readonly reason: string
  /** The host dialled in `docker_host` mode. Defaults to the engine's host name. */
  readonly dockerHost: string | undefined
  /**
   * The engine host's address as seen from this process, for containers on
   * the host network in `bridge_ip` and `gateway_ip` mode.
   */
  readonly engineHostAddress: string | undefined
  /** The container this process runs in; `bridge_ip` mode joins containers to its networks. */
  readonly ownContainer: OwnContainer | undefined
}

/**
 * Settings used where `layer` is given none: `docker_host` on the engine's
 * host name.
 *
 * @since 0.1.0
 */
export const defaults: ConnectionModeSettings = {
  mode: "docker_host",
  reason: "fixed by ConnectionMode.layer",
  dockerHost: undefined,
  engineHostAddress: undefined,
  ownContainer: undefined
}

const modes: ReadonlyArray<Mode> = ["bridge_ip", "gateway_ip", "docker_host"]

const suggestMode = (value: string): string => {
  const normalized = value.trim().toLowerCase().replace(/-/g, "_")
  const match = modes.find((mode) => mode === normalized || mode.startsWith(`${normalized}_`))
  return match === undefined || normalized === "" ? "" : `; did you mean ${match}?`
}

/**
 * The mode set by `TESTCONTAINERS_CONNECTION_MODE` (`connection.mode` in the
 * properties file), read through the current `ConfigProvider`. Surrounding
 * whitespace is ignored. `None` when unset. Fails with a `ConfigError` naming
 * the key, where the value came from and the allowed values when it is not one
 * of them, the empty string included.
 *
 * @since 0.1.0
 */
export const modeConfig: Config.Config<Option.Option<Mode>> = Config.schema(
  Schema.String.annotate({ description: "The connection mode: bridge_ip, gateway_ip or docker_host" }),
  TestcontainersConfig.keys.connectionMode
).pipe(
  Config.option,
  Config.mapEffect(Effect.fnUntraced(function*(value) {
    if (Option.isNone(value)) {
      return Option.none()
    }
    const trimmed = value.value.trim()
    if (Schema.is(Mode)(trimmed)) {
      return Option.some(trimmed)
    }
    const origin = yield* TestcontainersConfig.ConfigOrigin
    return yield* Effect.fail(TestcontainersConfig.invalidValue({
      name: TestcontainersConfig.keys.connectionMode,
      value: value.value,
      origin: origin.describe(TestcontainersConfig.keys.connectionMode),
      expected: `expected one of ${modes.join(", ")}${suggestMode(value.value)}`
    }))
  }))
)

/**
 * The host dialled in `docker_host` mode, set by
 * `TESTCONTAINERS_HOST_OVERRIDE` (`host.override` in the properties file).
 * `None` when unset or blank.
 *
 * @since 0.1.0
 */
export const hostOverrideConfig: Config.Config<Option.Option<string>> = Config.schema(
  Schema.String.annotate({ description: "The host that published ports are dialled on in docker_host mode" }),
  TestcontainersConfig.keys.hostOverride
).pipe(
  Config.option,
  Config.map((value) => Option.filter(Option.map(value, (host) => host.trim()), (host) => host !== ""))
)

/**
 * Every setting of the connection mode, read through the current
 * `ConfigProvider`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<{
  readonly mode: Option.Option<Mode>
  readonly hostOverride: Option.Option<string>
}> = Config.all({ mode: modeConfig, hostOverride: hostOverrideConfig })

const lookupHost = (host: string): Effect.Effect<ReadonlyArray<HostAddress>> =>
  Effect.tryPromise(() => Dns.promises.lookup(host, { all: true, order: "ipv4first" })).pipe(
    Effect.map((addresses) =>
      addresses.flatMap((entry): Array<HostAddress> =>
        entry.family === 4 || entry.family === 6 ? [{ address: entry.address, family: entry.family }] : []
      )
    ),
    Effect.timeoutOption("5 seconds"),
    Effect.map(Option.getOrElse((): ReadonlyArray<HostAddress> => [])),
    Effect.catch((error) =>
      Effect.logWarning(`Resolving the engine host ${host} failed; the IPv4 published port is used`).pipe(
        Effect.annotateLogs({ host, error: String(error) }),
        Effect.as([])
      )
    )
  )

const prepareError = (inspect: ContainerInspect, reason: string) =>
  new EndpointError({ containerId: inspect.Id, mode: "bridge_ip", reason })

/**
 * Makes the service from settings; omitted settings come from `defaults`, and
 * `dockerHost` from the engine's host name.
 *
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Partial<ConnectionModeSettings> = {}) {
  const engine = yield* DockerEngine
  const settings: ConnectionModeSettings = { ...defaults, ...options }
  const mode = settings.mode
  const dockerHost = settings.dockerHost ?? engine.hostName
  const ownContainer = settings.ownContainer
  const ownNetworkIds = new Set((ownContainer?.networks ?? []).map((network) => network.id).filter((id) => id !== ""))
  const engineHostAddress = settings.engineHostAddress ??
    ownContainer?.networks.find((network) => network.gateway !== undefined)?.gateway
  const attachments = new Map<string, Attachment>()
  // Resolved once, when the service is made, so that `resolve` never waits
  // and can run synchronously.
  const dockerHostAddresses = mode === "docker_host" && Net.isIP(dockerHost) === 0
    ? yield* lookupHost(dockerHost)
    : []

  const resolve = (
    inspect: ContainerInspect,
    port: ContainerPort,
    resolveOptions?: EndpointOptions
  ): Effect.Effect<Endpoint, EndpointError> =>
    Effect.suspend(() => {
      const context = {
        mode,
        dockerHost,
        dockerHostAddresses,
        engineHostAddress,
        ownNetworkIds,
        attachment: attachments.get(inspect.Id)
      }
      const endpoint = resolveEndpoint(context, inspect, port, resolveOptions)
      return Result.isSuccess(endpoint)
        ? Effect.succeed(endpoint.success)
        : Effect.fail(
          new EndpointError({ containerId: inspect.Id, port: portKey(port), mode, reason: endpoint.failure })
        )
    })

  const joinOwnNetwork = Effect.fnUntraced(function*(own: OwnContainer, inspect: ContainerInspect) {
    const joinable = own.networks.filter((network) => network.id !== "" && network.name !== "none")
    if (joinable.length === 0) {
      return yield* prepareError(
        inspect,
        `this process's container ${own.name} is on no network that another container can join (network mode ${own.networkMode}); connect it to a user-defined network, or set TESTCONTAINERS_CONNECTION_MODE to gateway_ip`
      )
    }

    // A user-defined network is preferred over the engine's default bridge,
    // which gives no DNS names; the default bridge is recognised by its option.
    const engineNetworks = yield* engine.call(
      "listNetworks",
      "engine",
      (client, signal) => client.listNetworks({ abortSignal: signal })
    )
    const defaultBridges = new Set(
      engineNetworks
        .filter((network) => network.Options?.["com.docker.network.bridge.default_bridge"] === "true")
        .map((network) => network.Id)
    )
    const chosen = joinable.find((network) => !defaultBridges.has(network.id)) ?? joinable[0]
    if (chosen === undefined) {
      return
    }

    yield* engine.call(
      "connectNetwork",
      `${chosen.name} and container ${inspect.Id.slice(0, 12)}`,
      (client, signal) => {
        // docker-modem removes `abortSignal` before it sends the options as the body.
        const request: Dockerode.NetworkConnectOptions & { readonly abortSignal: AbortSignal } = {
          Container: inspect.Id,
          abortSignal: signal
        }
        return client.getNetwork(chosen.id).connect(request)
      }
    )
    const connected = yield* engine.call(
      "inspectContainer",
      inspect.Id,
      (client, signal) => client.getContainer(inspect.Id).inspect({ abortSignal: signal })
    )
    const settingsOnNetwork = connected.NetworkSettings.Networks[chosen.name]
    attachments.set(inspect.Id, {
      network: chosen.name,
      networkId: chosen.id,
      ipAddress: settingsOnNetwork?.IPAddress || undefined,
      ipv6Address: settingsOnNetwork?.GlobalIPv6Address || undefined
    })
    yield* Effect.logDebug(
      `Connected container ${
        inspect.Name.replace(/^\//, "")
      } to network ${chosen.name} of this process's container ${own.name}, so it can be dialled at its IP`
    ).pipe(Effect.annotateLogs({ containerId: inspect.Id, network: chosen.name }))
  })

  const prepare = (inspect: ContainerInspect): Effect.Effect<void, EndpointError | EngineRequestError> =>
    Effect.suspend(() => {
      if (mode !== "bridge_ip" || ownContainer === undefined || ownContainer.networkMode === "host") {
        // A process on the engine host's network reaches every bridge network.
        return Effect.void
      }
      const networkMode = inspect.HostConfig.NetworkMode ?? ""
      if (networkMode === "host" || networkMode.startsWith("container:") || attachments.has(inspect.Id)) {
        return Effect.void
      }
      const targetNetworkIds = Object.values(inspect.NetworkSettings.Networks ?? {}).map((network) =>
        network.NetworkID ?? ""
      )
      if (targetNetworkIds.some((id) => ownNetworkIds.has(id))) {
        return Effect.void
      }
      return joinOwnNetwork(ownContainer, inspect)
    })

  return ConnectionMode.of({ mode, reason: settings.reason, dockerHost, ownContainer, resolve, prepare })
})

/**
 * A Layer with fixed settings, for tests: `layer("bridge_ip")` or
 * `layer({ mode: "docker_host", dockerHost: "127.0.0.1" })`. Nothing is read
 * from the environment and nothing is detected.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Mode | Partial<ConnectionModeSettings> = {}
): Layer.Layer<ConnectionMode, never, DockerEngine> =>
  Layer.effect(ConnectionMode)(make(typeof options === "string" ? { mode: options } : options))

/**
 * Options of mode detection.
 *
 * @since 0.1.0
 */
export interface DetectOptions {
  /** Reads of the local system. Defaults to the real files, host name and interfaces. */
  readonly probes?: DetectionProbes | undefined
}

/**
 * Reads the settings through the current `ConfigProvider` and detects the
 * mode when none is set: see `decideFromLocalFacts` and `decideInContainer`
 * in `internal/detect.ts` for the decision table. Looks up this process's own
 * container when the mode is `bridge_ip`, so `prepare` can join containers to
 * its networks. Fails with a `ConfigError` on an invalid setting; engine
 * errors during detection are logged and count as "not found".
 *
 * @since 0.1.0
 */
export const detect = Effect.fnUntraced(function*(options: DetectOptions = {}) {
  const engine = yield* DockerEngine
  const probes = options.probes ?? systemProbes
  const settings = yield* config
  const origin = yield* TestcontainersConfig.ConfigOrigin
  const hostOverride = Option.getOrUndefined(settings.hostOverride)
  const hints = collectContainerHints(probes)
  const localSocket = engine.address._tag === "Socket"
  const inContainer = hints.markers.length > 0

  const lookupOwnContainer = (): Effect.Effect<OwnContainerLookup> =>
    inContainer && localSocket
      ? findOwnContainer(engine, hints.candidates)
      : Effect.succeed({ _tag: "NotFound", tried: [] })
  const bridgeGateways = yield* Effect.cached(
    engineBridgeGateways(engine).pipe(
      Effect.catch((error) =>
        Effect.logWarning("Listing the engine's networks failed; the engine host's address is unknown").pipe(
          Effect.annotateLogs({ error: error.message }),
          Effect.as([] as ReadonlyArray<string>)
        )
      )
    )
  )

  let decision: { readonly mode: Mode; readonly reason: string }
  let ownContainer: OwnContainer | undefined
  if (Option.isSome(settings.mode)) {
    decision = {
      mode: settings.mode.value,
      reason: `set by ${origin.describe(TestcontainersConfig.keys.connectionMode)}`
    }
    if (settings.mode.value === "bridge_ip") {
      const own = yield* lookupOwnContainer()
      ownContainer = own._tag === "Found" ? own.container : undefined
    }
  } else {
    const local = decideFromLocalFacts({
      hostOverride: hostOverride === undefined
        ? undefined
        : { value: hostOverride, origin: origin.describe(TestcontainersConfig.keys.hostOverride) },
      engineAddress: engine.address,
      engineAddressSource: engine.addressSource,
      hints
    })
    if (local !== undefined) {
      decision = local
    } else {
      const own = yield* lookupOwnContainer()
      let sharedGateway: string | undefined
      if (own._tag === "NotFound") {
        for (const gateway of yield* bridgeGateways) {
          if (yield* probes.isLocalAddress(gateway)) {
            sharedGateway = gateway
            break
          }
        }
      }
      decision = decideInContainer(hints.markers, { ownContainer: own, sharedGateway })
      ownContainer = own._tag === "Found" ? own.container : undefined
    }
  }

  const engineHostAddress = decision.mode === "docker_host" || ownContainer !== undefined
    ? undefined
    : (yield* bridgeGateways)[0]

  return {
    mode: decision.mode,
    reason: decision.reason,
    dockerHost: hostOverride,
    engineHostAddress,
    ownContainer
  } satisfies ConnectionModeSettings
})

/**
 * A Layer that reads the settings through the current `ConfigProvider`,
 * detects the mode when none is set, and logs the mode with its reason once,
 * at info level. Fails with a `ConfigError` on an invalid setting.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: DetectOptions = {}
): Layer.Layer<ConnectionMode, Config.ConfigError, DockerEngine> =>
  Layer.effect(ConnectionMode)(Effect.gen(function*() {
    const settings = yield* detect(options)
    yield* Effect.logInfo(`Connection mode ${settings.mode}: ${settings.reason}`).pipe(
      Effect.annotateLogs({ connectionMode: settings.mode })
    )
    return yield* make(settings)
  }))

/**
 * A Layer that reads `TESTCONTAINERS_CONNECTION_MODE` and
 * `TESTCONTAINERS_HOST_OVERRIDE` from the environment, falling back to
 * `connection.mode` and `host.override` in `~/.testcontainers.properties`,
 * and detects the mode when neither sets it. Logs the mode with its reason
 * once. Fails with a `ConfigError` on an invalid value or an unreadable or
 * malformed properties file.
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<ConnectionMode, Config.ConfigError, DockerEngine> = layerConfig().pipe(
  Layer.provide(TestcontainersConfig.layer())
)
