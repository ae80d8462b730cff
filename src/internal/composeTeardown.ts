/**
 * Taking a compose project down: `down` through the CLI, then removal
 * through the engine of whatever still carries the project label.
 */
import { Duration, Effect, Option } from "effect"
import type { EngineRequestError } from "../Errors.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import { displayCommand, downArgs, type ProjectInvocation, runCommand } from "./composeCli.ts"
import { labelFilter, listProjectContainers } from "./composeContainers.ts"
import { labels } from "./composeOptions.ts"
import { removeContainer } from "./engineCalls.ts"
import { lastLines } from "./streams.ts"

/** How long `down` may run before what is left is removed through the engine. */
const downDeadline = Duration.minutes(2)

/** Removes one network or volume by id or name. A resource that is already gone counts as removed. */
const removeLeftover = (
  kind: "network" | "volume",
  name: string,
  remove: Effect.Effect<unknown, EngineRequestError>
) =>
  remove.pipe(
    Effect.tap(() => Effect.logInfo(`Removed ${kind}`).pipe(Effect.annotateLogs({ [kind]: name }))),
    Effect.catchIf((error) => error.statusCode === 404, () => Effect.void),
    Effect.catch((error) =>
      Effect.logError(`Removing ${kind} failed`, error.message).pipe(Effect.annotateLogs({ [kind]: name }))
    )
  )

/**
 * Removes every container, network and volume that carries the project
 * label, for what `down` left or could not remove. Never fails: each failure
 * is logged.
 */
const removeProjectResources = Effect.fnUntraced(function*(project: string) {
  const engine = yield* DockerEngine
  const filters = labelFilter([`${labels.project}=${project}`])
  const logFailure = (resourceKind: string) => (error: EngineRequestError) =>
    Effect.as(
      Effect.logError(`Listing ${resourceKind} of the compose project failed`, error.message).pipe(
        Effect.annotateLogs({ composeProject: project })
      ),
      []
    )

  const containers = yield* listProjectContainers(project).pipe(Effect.catch(logFailure("containers")))
  yield* Effect.forEach(
    containers,
    (container) => removeContainer(container.Id, (container.Names[0] ?? container.Id).replace(/^\//, "")),
    { concurrency: "unbounded", discard: true }
  )

  const networks = yield* engine.call(
    "network list",
    `compose project ${project}`,
    (client, signal) => client.listNetworks({ filters, abortSignal: signal })
  ).pipe(Effect.catch(logFailure("networks")))
  yield* Effect.forEach(networks, (network) =>
    removeLeftover(
      "network",
      network.Name,
      engine.call("network remove", network.Name, (client, signal) =>
        client.getNetwork(network.Id).remove({ abortSignal: signal }))
    ), { discard: true })

  const volumes = yield* engine.call(
    "volume list",
    `compose project ${project}`,
    (client, signal) => client.listVolumes({ filters, abortSignal: signal })
  ).pipe(
    Effect.map((listed) => listed.Volumes ?? []),
    Effect.catch(logFailure("volumes"))
  )
  yield* Effect.forEach(volumes, (volume) =>
    removeLeftover(
      "volume",
      volume.Name,
      engine.call("volume remove", volume.Name, (client, signal) =>
        client.getVolume(volume.Name).remove({ abortSignal: signal }))
    ), { discard: true })

  const left = containers.length + networks.length + volumes.length
  if (left > 0) {
    yield* Effect.logWarning("Compose down left resources of the project; removed them through the engine").pipe(
      Effect.annotateLogs({
        composeProject: project,
        containers: containers.length,
        networks: networks.length,
        volumes: volumes.length
      })
    )
  }
})

/**
 * The finalizer: `down`, bounded by `downDeadline`, then removal through the
 * engine of anything that still carries the project label.
 */
export const tearDown = Effect.fnUntraced(function*(invocation: ProjectInvocation, stopSeconds: number) {
  const argv = downArgs(invocation, stopSeconds)
  const annotations = { composeProject: invocation.project, command: displayCommand(argv) }
  const ran = yield* runCommand(argv, invocation.env).pipe(Effect.timeoutOption(downDeadline), Effect.result)

  const failure = ran._tag === "Failure"
    ? ran.failure.message
    : Option.isNone(ran.success)
    ? `no exit within ${Duration.format(downDeadline)}`
    : ran.success.value.exitCode !== 0
    ? `exit code ${ran.success.value.exitCode}: ${lastLines(ran.success.value.stderr, 20)}`
    : undefined
  if (failure === undefined) {
    yield* Effect.logInfo("Took compose project down").pipe(Effect.annotateLogs(annotations))
  } else {
    yield* Effect.logWarning("Compose down failed; removing the project's resources through the engine", failure).pipe(
      Effect.annotateLogs(annotations)
    )
  }

  yield* removeProjectResources(invocation.project)
})
