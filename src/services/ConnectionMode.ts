/**
 * How the test process reaches a container: the connection mode service.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import { EndpointError, type EngineRequestError } from "../Errors.ts"
import type { ContainerInspect } from "../internal/inspect.ts"
import { type ContainerPort, portKey } from "../internal/port.ts"
import { DockerEngine } from "./DockerEngine.ts"

/**
 * The connection modes: `bridge_ip` dials the container's IP on its network
 * and the container port, `gateway_ip` dials the network gateway and the
 * mapped port, `docker_host` dials the engine's host and the mapped port.
 *
 * @since 0.1.0
 */
export const Mode = Schema.Literals(["bridge_ip", "gateway_ip", "docker_host"])

/**
 * @since 0.1.0
 */
export type Mode = typeof Mode.Type

/**
 * A host and port the test process can connect to.
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
  /** Resolves the endpoint of a container port from the container's inspect data. */
  readonly resolve: (
    inspect: ContainerInspect,
    port: ContainerPort,
    options?: EndpointOptions
  ) => Effect.Effect<Endpoint, EndpointError>
  /**
   * Runs after a container starts and before its wait strategy, so the test
   * process can reach it; for example it joins the container to a network of
   * the test process's own container.
   */
  readonly prepare: (inspect: ContainerInspect) => Effect.Effect<void, EndpointError | EngineRequestError>
}>()("effect-testcontainers/ConnectionMode") {}

const publishedPort = (inspect: ContainerInspect, port: ContainerPort): number | undefined => {
  const bindings = inspect.NetworkSettings.Ports?.[portKey(port)] ?? []
  const hostPort = bindings.find((binding) => binding.HostPort)?.HostPort
  return hostPort ? Number(hostPort) : undefined
}

/**
 * A Layer with the `docker_host` mode and the engine's host name.
 *
 * @since 0.1.0
 */
export const layerDockerHost: Layer.Layer<ConnectionMode, never, DockerEngine> = Layer.effect(ConnectionMode)(
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const dockerHost = process.env.TESTCONTAINERS_HOST_OVERRIDE ?? engine.hostName
    return ConnectionMode.of({
      mode: "docker_host",
      reason: "default",
      dockerHost,
      prepare: () => Effect.void,
      resolve: (inspect, port) => {
        const mapped = publishedPort(inspect, port)
        return mapped === undefined
          ? Effect.fail(
            new EndpointError({
              containerId: inspect.Id,
              port: portKey(port),
              mode: "docker_host",
              reason: "the port is not published; add it with Container.withExposedPorts"
            })
          )
          : Effect.succeed({ host: dockerHost, port: mapped })
      }
    })
  })
)
