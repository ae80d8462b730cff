/**
 * Finding the containers of a compose project by their labels, and wrapping
 * them as `StartedContainer` values.
 */
import { Effect, Option } from "effect"
import type { StartedContainer } from "../Container.ts"
import { EndpointError } from "../Errors.ts"
import { ConnectionMode } from "../services/ConnectionMode.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import { labels } from "./composeOptions.ts"
import { execInContainer, inspectContainer, readLogs } from "./engineCalls.ts"
import type { ContainerInspect } from "./inspect.ts"
import { type ContainerPort, parsePort, portKey } from "./port.ts"

/** The reason given for an invalid port value, as `Container.start` words it. */
export const portMessage =
  "a port must be an integer from 1 to 65535, optionally followed by /tcp, /udp or /sctp, such as 5432 or \"53/udp\""

/** Builds the engine's list filter that matches every `key=value` label given. */
export const labelFilter = (labelValues: ReadonlyArray<string>): string => JSON.stringify({ label: labelValues })

/** Lists the containers of a project, or of one of its services, running or not. */
export const listProjectContainers = (project: string, service?: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const filters = labelFilter([
      `${labels.project}=${project}`,
      ...(service === undefined ? [] : [`${labels.service}=${service}`])
    ])
    return yield* engine.call(
      "container list",
      service === undefined ? `compose project ${project}` : `compose project ${project} service ${service}`,
      (client, signal) => client.listContainers({ all: true, filters, abortSignal: signal })
    )
  })

/**
 * The containers of one service, by container number. One-off containers
 * from `run` are left out, because they are not part of the service's scale.
 */
export const findServiceContainers = (project: string, service: string) =>
  listProjectContainers(project, service).pipe(
    Effect.map((containers) =>
      containers
        .filter((container) => container.Labels?.[labels.oneoff] !== "True")
        .sort((a, b) =>
          Number(a.Labels?.[labels.containerNumber] ?? 0) - Number(b.Labels?.[labels.containerNumber] ?? 0)
        )
    )
  )

/** The container ports published on the host, which the default listening-ports wait checks. */
export const publishedPorts = (inspect: ContainerInspect): ReadonlyArray<ContainerPort> =>
  Object.entries(inspect.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) => {
    const port = parsePort(key)
    return port !== undefined && (bindings ?? []).some((binding) => binding.HostPort) ? [port] : []
  })

/**
 * Reads a container's inspect data after the connection mode has prepared
 * it, so that endpoints resolve. Preparing a container twice does nothing.
 */
export const inspectPrepared = Effect.fnUntraced(function*(id: string) {
  const connection = yield* ConnectionMode
  const inspect = yield* inspectContainer(id)
  yield* connection.prepare(inspect)
  return connection.mode === "bridge_ip" ? yield* inspectContainer(id) : inspect
})

/** A `StartedContainer` over a container that the Compose CLI created. */
export const makeServiceContainer = Effect.fnUntraced(function*(inspect: ContainerInspect) {
  const engine = yield* DockerEngine
  const connection = yield* ConnectionMode
  const id = inspect.Id
  const networks = inspect.NetworkSettings.Networks ?? {}
  const provide = <A, E>(effect: Effect.Effect<A, E, DockerEngine>) =>
    Effect.provideService(effect, DockerEngine, engine)
  const endpointError = (port: unknown, reason: string) =>
    new EndpointError({ containerId: id, port: String(port), mode: connection.mode, reason })

  const mappedPort: StartedContainer["mappedPort"] = (input) => {
    const port = parsePort(input)
    if (port === undefined) {
      return Effect.fail(endpointError(input, portMessage))
    }
    const bindings = inspect.NetworkSettings.Ports?.[portKey(port)] ?? []
    const ipv4 = bindings.find((binding) => binding.HostPort && !(binding.HostIp ?? "").includes(":"))
    const published = ipv4 ?? bindings.find((binding) => binding.HostPort)
    return published?.HostPort
      ? Effect.succeed(Number(published.HostPort))
      : Effect.fail(
        endpointError(input, "the port is not published, so add it under ports: of the service in the compose file")
      )
  }

  const endpoint: StartedContainer["endpoint"] = (input, options) => {
    const port = parsePort(input)
    return port === undefined
      ? Effect.fail(endpointError(input, portMessage))
      : connection.resolve(inspect, port, options)
  }

  const firstPort = publishedPorts(inspect)[0]
  const host = firstPort === undefined
    ? connection.dockerHost
    : yield* connection.resolve(inspect, firstPort).pipe(
      Effect.map((resolved) => resolved.host),
      Effect.orElseSucceed(() => connection.dockerHost)
    )

  const container: StartedContainer = {
    id,
    name: inspect.Name.replace(/^\//, ""),
    image: inspect.Config.Image,
    host,
    networkNames: Object.keys(networks),
    inspectData: inspect,
    mappedPort,
    endpoint,
    ipAddress: (network) => {
      const key = typeof network === "string" ? network : network.name
      return Option.fromNullishOr(networks[key]?.IPAddress || undefined)
    },
    exec: (command) => provide(execInContainer(id, command)),
    logs: provide(readLogs(id)),
    inspect: provide(inspectContainer(id))
  }
  return container
})
