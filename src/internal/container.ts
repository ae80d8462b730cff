/**
 * The container start flow behind `Container.start`.
 */
import { Duration, Effect, Exit, Scope } from "effect"
import * as Crypto from "node:crypto"
import type { ContainerSpec } from "../Container.ts"
import { ContainerCreateError, ContainerStartError, type EngineRequestError, StartupTimeoutError } from "../Errors.ts"
import { ConnectionMode } from "../services/ConnectionMode.ts"
import { DockerEngine, sessionLabels } from "../services/DockerEngine.ts"
import * as Wait from "../Wait.ts"
import { inspectContainer, lastLogLines, removeContainer } from "./engineCalls.ts"
import { ensureImage, resolveImageName, withDefaultTag } from "./image.ts"
import { portKey } from "./port.ts"
import { validateSpec, type ValidSpec } from "./spec.ts"
import { makeStartedContainer } from "./started.ts"
import { defaultWaitStrategy, waitUntilReady } from "./wait.ts"

const standardModes = new Set(["host", "none", "bridge"])

/** The network set at create time and those connected before start. */
export const planNetworks = (spec: ContainerSpec): {
  readonly networkMode: string | undefined
  readonly first: { readonly network: string; readonly aliases: ReadonlyArray<string> } | undefined
  readonly others: ReadonlyArray<{ readonly network: string; readonly aliases: ReadonlyArray<string> }>
} => {
  const mode = spec.networkMode
  const attachments = mode !== undefined && !standardModes.has(mode)
    ? [{ network: mode, aliases: [] as ReadonlyArray<string> }, ...spec.networks]
    : spec.networks
  if (mode === "host" || mode === "none") {
    return { networkMode: mode, first: undefined, others: [] }
  }
  if (mode === "bridge") {
    return { networkMode: "bridge", first: undefined, others: attachments }
  }
  const [first, ...others] = attachments
  return { networkMode: first?.network, first, others }
}

/** Builds the engine's create body for a validated spec. */
export const createOptions = (valid: ValidSpec, name: string, image: string = valid.spec.image) => {
  const spec = valid.spec
  const networks = planNetworks(spec)
  const publish = networks.networkMode !== "host" && networks.networkMode !== "none"

  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {}
  if (publish) {
    for (const port of valid.exposedPorts) {
      portBindings[portKey(port)] = [{ HostIp: "", HostPort: "" }]
    }
    // Fixed bindings replace the random one; a port may have several, such
    // as one per address family.
    const fixed: Record<string, Array<{ HostIp: string; HostPort: string }>> = {}
    for (const binding of valid.portBindings) {
      const key = portKey(binding.port)
      fixed[key] = [...(fixed[key] ?? []), { HostIp: binding.hostIp, HostPort: String(binding.hostPort) }]
    }
    Object.assign(portBindings, fixed)
  }

  return {
    name,
    Image: image,
    ...(spec.command === undefined ? {} : { Cmd: [...spec.command] }),
    ...(spec.entrypoint === undefined ? {} : { Entrypoint: [...spec.entrypoint] }),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels, ...sessionLabels },
    ExposedPorts: Object.fromEntries(valid.exposedPorts.map((port) => [portKey(port), {}])),
    ...(spec.user === undefined ? {} : { User: spec.user }),
    ...(spec.workingDir === undefined ? {} : { WorkingDir: spec.workingDir }),
    ...(spec.hostname === undefined ? {} : { Hostname: spec.hostname }),
    HostConfig: {
      PortBindings: portBindings,
      ...(networks.networkMode === undefined ? {} : { NetworkMode: networks.networkMode }),
      Binds: spec.mounts.map((mount) => `${mount.source}:${mount.target}${mount.readOnly ? ":ro" : ""}`),
      Tmpfs: { ...spec.tmpfs },
      ExtraHosts: [...spec.extraHosts],
      Privileged: spec.privileged
    },
    ...(networks.first === undefined ? {} : {
      NetworkingConfig: {
        EndpointsConfig: {
          [networks.first.network]: { Aliases: [...networks.first.aliases] }
        }
      }
    })
  }
}

const connectNetworks = Effect.fnUntraced(function*(
  id: string,
  name: string,
  others: ReadonlyArray<{ readonly network: string; readonly aliases: ReadonlyArray<string> }>
) {
  const engine = yield* DockerEngine
  for (const attachment of others) {
    yield* engine.call(
      "network connect",
      attachment.network,
      (client) =>
        client.getNetwork(attachment.network).connect({
          Container: id,
          EndpointConfig: { Aliases: [...attachment.aliases] }
        })
    ).pipe(
      Effect.mapError((error) =>
        new ContainerStartError({
          containerId: id,
          containerName: name,
          engineMessage: `connecting to network ${attachment.network} failed: ${error.engineMessage}`
        })
      )
    )
  }
})

/** See `Container.start`. */
export const start = Effect.fn("Container.start")(function*(spec: ContainerSpec) {
  const valid = yield* validateSpec(spec)
  const engine = yield* DockerEngine
  const connection = yield* ConnectionMode
  const parentScope = yield* Scope.Scope

  const image = yield* resolveImageName(spec.image)
  yield* ensureImage(image, spec.pullPolicy, spec.auth)

  const name = spec.name ?? `etc-${Crypto.randomBytes(6).toString("hex")}`
  const networks = planNetworks(spec)
  const waitStrategy = spec.waitStrategy ?? defaultWaitStrategy(valid.exposedPorts)
  const startedAt = Date.now()
  let containerId: string | undefined
  const annotations = () => ({ containerName: name, containerId: containerId ?? "", image })

  // The container gets a scope of its own, so a failed or interrupted start
  // removes it at once instead of when the caller's scope closes.
  const containerScope = yield* Scope.fork(parentScope, "sequential")

  const startAndWait = Effect.gen(function*() {
    // Acquisition is uninterruptible: the removal is registered in the same
    // step that receives the id, so an interruption cannot orphan it.
    const id = yield* Effect.acquireRelease(
      engine.call(
        "container create",
        name,
        (client) => client.createContainer(createOptions(valid, name, withDefaultTag(image)))
      ).pipe(
        Effect.map((container) => container.id),
        Effect.mapError((error: EngineRequestError) =>
          new ContainerCreateError({ image, containerName: name, engineMessage: error.engineMessage })
        )
      ),
      (id) => removeContainer(id, name).pipe(Effect.provideService(DockerEngine, engine))
    ).pipe(Scope.provide(containerScope))
    containerId = id
    yield* Effect.logInfo("Created container").pipe(Effect.annotateLogs(annotations()))

    yield* connectNetworks(id, name, networks.others)

    yield* engine.call("container start", id, (client) => client.getContainer(id).start()).pipe(
      Effect.mapError((error) =>
        new ContainerStartError({ containerId: id, containerName: name, engineMessage: error.engineMessage })
      )
    )

    const afterStart = yield* inspectContainer(id)
    yield* connection.prepare(afterStart)
    const inspect = connection.mode === "bridge_ip" ? yield* inspectContainer(id) : afterStart

    yield* waitUntilReady({
      id,
      name,
      inspect,
      exposedPorts: valid.exposedPorts,
      pollInterval: valid.pollInterval
    }, waitStrategy)

    return inspect
  })

  const timedOut = Effect.suspend(() =>
    Effect.gen(function*() {
      const lastLogs = containerId === undefined ? "(the container was not created)" : yield* lastLogLines(containerId)
      return yield* new StartupTimeoutError({
        containerId: containerId ?? "",
        containerName: name,
        image,
        timeout: Duration.format(valid.startupTimeout),
        waitStrategy: Wait.describe(waitStrategy),
        lastLogs
      })
    })
  )

  const inspect = yield* startAndWait.pipe(
    Effect.timeoutOrElse({ duration: valid.startupTimeout, orElse: () => timedOut }),
    Effect.tapError((error) =>
      Effect.logWarning("Container start failed", error.message).pipe(Effect.annotateLogs(annotations()))
    ),
    Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(containerScope, exit) : Effect.void)
  )

  yield* Effect.logInfo("Container ready").pipe(
    Effect.annotateLogs({ ...annotations(), startupMillis: Date.now() - startedAt })
  )

  return makeStartedContainer(
    {
      inspect,
      image,
      startupBeganAt: startedAt,
      ports: valid.exposedPorts,
      publishHint: (port) => `expose it with Container.withExposedPorts(${port})`
    },
    engine,
    connection
  )
})
