/**
 * Container-level engine calls shared by the start flow, the wait strategies
 * and started containers: inspect, logs, exec and removal.
 */
import { Effect } from "effect"
import type { ExecOptions, ExecResult } from "../Container.ts"
import { ContainerExitedError, EngineRequestError, ExecError } from "../Errors.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import { type ContainerInspect, decodeContainerInspect } from "./inspect.ts"
import { demultiplex, lastLines } from "./streams.ts"

/** Reads and decodes a container's inspect data. */
export const inspectContainer = Effect.fnUntraced(function*(id: string) {
  const engine = yield* DockerEngine
  const raw = yield* engine.call("container inspect", id, (client) => client.getContainer(id).inspect())
  return yield* decodeContainerInspect(raw).pipe(
    Effect.mapError((error) =>
      new EngineRequestError({ operation: "container inspect", target: id, engineMessage: error.message })
    )
  )
})

/** Reads a container's output so far, or its last `tail` lines. */
export const readLogs = Effect.fnUntraced(function*(id: string, tail?: number) {
  const engine = yield* DockerEngine
  const buffer = yield* engine.call("container logs", id, (client) =>
    client.getContainer(id).logs({
      follow: false,
      stdout: true,
      stderr: true,
      ...(tail === undefined ? {} : { tail })
    }))
  const { stdout, stderr } = demultiplex(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)))
  return stderr === "" ? stdout : `${stdout}${stdout.endsWith("\n") || stdout === "" ? "" : "\n"}${stderr}`
})

/** The last log lines of a container for an error message; never fails. */
export const lastLogLines = (id: string, count = 20): Effect.Effect<string, never, DockerEngine> =>
  readLogs(id, count).pipe(
    Effect.map((text) => {
      const lines = lastLines(text, count)
      return lines === "" ? "(no output)" : lines
    }),
    Effect.catch((error) => Effect.succeed(`(logs unavailable: ${error.engineMessage})`))
  )

/**
 * Fails with `ContainerExitedError` when the container is no longer running.
 */
export const failIfExited = Effect.fnUntraced(function*(id: string, name: string) {
  const inspect = yield* inspectContainer(id)
  if (!inspect.State.Running) {
    const lastLogs = yield* lastLogLines(id)
    return yield* new ContainerExitedError({
      containerId: id,
      containerName: name,
      exitCode: inspect.State.ExitCode,
      lastLogs
    })
  }
  return inspect
})

/** Runs a command in a container and collects stdout, stderr and the exit code. */
export const execInContainer = Effect.fnUntraced(function*(
  id: string,
  command: ReadonlyArray<string>,
  options: ExecOptions = {}
) {
  const engine = yield* DockerEngine
  const toExecError = (error: EngineRequestError) =>
    new ExecError({ containerId: id, command, engineMessage: error.engineMessage })

  const exec = yield* engine.call("exec create", id, (client) =>
    client.getContainer(id).exec({
      Cmd: [...command],
      AttachStdout: true,
      AttachStderr: true,
      ...(options.env === undefined
        ? {}
        : { Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`) }),
      ...(options.workingDir === undefined ? {} : { WorkingDir: options.workingDir }),
      ...(options.user === undefined ? {} : { User: options.user })
    })).pipe(Effect.mapError(toExecError))

  const output = yield* engine.call("exec start", id, async () => {
    const stream = await exec.start({ hijack: true, stdin: false })
    const chunks: Array<Buffer> = []
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", resolve)
      stream.on("close", resolve)
      stream.on("error", reject)
    })
    return demultiplex(Buffer.concat(chunks))
  }).pipe(Effect.mapError(toExecError))

  const info = yield* engine.call("exec inspect", id, () => exec.inspect()).pipe(Effect.mapError(toExecError))

  // When the engine cannot run the command at all (no such executable), it
  // reports that as output with exit code 126 or 127 rather than as an error.
  const exitCode = info.ExitCode ?? -1
  const runtimeFailure = /OCI runtime exec failed.*/.exec(`${output.stdout}\n${output.stderr}`)
  if ((exitCode === 126 || exitCode === 127) && runtimeFailure !== null) {
    return yield* new ExecError({ containerId: id, command, engineMessage: runtimeFailure[0].trim() })
  }

  const result: ExecResult = { exitCode, stdout: output.stdout, stderr: output.stderr }
  return result
})

/**
 * Stops and removes a container with its anonymous volumes. A container
 * already gone, or already being removed, counts as removed; other failures
 * are logged, because a finalizer cannot fail.
 */
export const removeContainer = Effect.fnUntraced(function*(id: string, name: string) {
  const engine = yield* DockerEngine

  yield* engine.call("container remove", id, (client) => client.getContainer(id).remove({ force: true, v: true })).pipe(
    Effect.tap(() =>
      Effect.logInfo("Stopped and removed container").pipe(
        Effect.annotateLogs({ containerId: id, containerName: name })
      )
    ),
    Effect.catchIf(
      (error) => error.statusCode === 404 || /already in progress/i.test(error.engineMessage),
      () => Effect.void
    ),
    Effect.catch((error) =>
      Effect.logError("Removing container failed", error.message).pipe(
        Effect.annotateLogs({ containerId: id, containerName: name })
      )
    )
  )
})

export type { ContainerInspect }
