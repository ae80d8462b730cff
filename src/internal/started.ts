/**
 * The `StartedContainer` view over a running container's inspect data, shared
 * by `Container.start` and Compose services.
 */
import { Effect } from "effect"
import type { StartedContainer } from "../Container.ts"
import { EndpointError } from "../Errors.ts"
import type { ConnectionMode } from "../services/ConnectionMode.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import { execInContainer, inspectContainer, readLogs } from "./engineCalls.ts"
import type { ContainerInspect } from "./inspect.ts"
import { type ContainerPort, parsePort, portKey } from "./port.ts"

/** The reason given for a port value that does not parse. */
export const portMessage =
  "a port must be an integer from 1 to 65535, optionally followed by /tcp, /udp or /sctp, such as 5432 or \"53/udp\""

/** The inputs a started container is built from. */
export interface StartedContainerOptions {
  readonly inspect: ContainerInspect
  readonly image: string
  readonly startupBeganAt: number
  /** The ports whose endpoint gives the container's `host`; the first one is used. */
  readonly ports: ReadonlyArray<ContainerPort>
  /** How to publish a port the caller asked for that is not published. */
  readonly publishHint: (port: string) => string
}

/**
 * Builds the started container. Endpoints resolve through the connection
 * mode; `exec`, `logs` and `inspect` call the engine.
 */
export const makeStartedContainer = (
  options: StartedContainerOptions,
  engine: DockerEngine["Service"],
  connection: ConnectionMode["Service"]
): StartedContainer => {
  const inspect = options.inspect
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
      : Effect.fail(endpointError(input, `the port is not published; ${options.publishHint(String(input))}`))
  }

  const endpoint: StartedContainer["endpoint"] = (input, endpointOptions) => {
    const port = parsePort(input)
    return port === undefined
      ? Effect.fail(endpointError(input, portMessage))
      : connection.resolve(inspect, port, endpointOptions)
  }

  // Resolution is pure (the connection mode looked up the engine host when
  // its Layer was built), so running it synchronously here is safe.
  const firstPort = options.ports[0]
  const host = firstPort === undefined
    ? connection.dockerHost
    : Effect.runSync(
      connection.resolve(inspect, firstPort).pipe(
        Effect.map((resolved) => resolved.host),
        Effect.orElseSucceed(() => connection.dockerHost)
      )
    )

  return {
    id,
    name: inspect.Name.replace(/^\//, ""),
    image: options.image,
    startupBeganAt: options.startupBeganAt,
    host,
    networkNames: Object.keys(networks),
    inspectData: inspect,
    mappedPort,
    endpoint,
    ipAddress: (network) => {
      const key = typeof network === "string" ? network : network.name
      const address = networks[key]?.IPAddress
      return address
        ? Effect.succeed(address)
        : Effect.fail(
          new EndpointError({
            containerId: id,
            mode: connection.mode,
            reason: `the container is not on network ${key}; its networks are ${
              Object.keys(networks).join(", ") || "none"
            }`
          })
        )
    },
    exec: (command, execOptions) => provide(execInContainer(id, command, execOptions)),
    logs: provide(readLogs(id)),
    inspect: provide(inspectContainer(id))
  }
}
