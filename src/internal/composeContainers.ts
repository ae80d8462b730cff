/**
 * Finding the containers of a compose project by their labels, and wrapping
 * them as `StartedContainer` values.
 */
import { Effect } from "effect"
import { ConnectionMode } from "../services/ConnectionMode.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import { labels } from "./composeOptions.ts"
import { inspectContainer } from "./engineCalls.ts"
import type { ContainerInspect } from "./inspect.ts"
import { type ContainerPort, parsePort } from "./port.ts"
import { makeStartedContainer } from "./started.ts"

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
  const created = Date.parse(inspect.Created ?? "")
  return makeStartedContainer(
    {
      inspect,
      image: inspect.Config.Image,
      startupBeganAt: Number.isNaN(created) ? Date.now() : created,
      ports: publishedPorts(inspect),
      publishHint: () => "add it under ports: of the service in the compose file"
    },
    engine,
    connection
  )
})
