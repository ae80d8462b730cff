/**
 * Running wait strategies against a started container.
 */
import { type Duration, Effect, Ref } from "effect"
import * as Net from "node:net"
import type { ExecResult } from "../Container.ts"
import { ContainerExitedError, ContainerStartError, type EndpointError, type EngineRequestError } from "../Errors.ts"
import { ConnectionMode, type Endpoint } from "../services/ConnectionMode.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import type { WaitStrategy } from "../Wait.ts"
import { execInContainer, failIfExited } from "./engineCalls.ts"
import type { ContainerInspect } from "./inspect.ts"
import { type ContainerPort, parsePort } from "./port.ts"
import { readContainerProcNetTcp } from "./procNet.ts"
import { listeningPorts } from "./streams.ts"

/** The container a wait strategy runs against, with its poll interval. */
export interface WaitTarget {
  readonly id: string
  readonly name: string
  readonly inspect: ContainerInspect
  readonly exposedPorts: ReadonlyArray<ContainerPort>
  readonly pollInterval: Duration.Duration
}

/** Errors a wait strategy can end with, before the startup timeout. */
export type WaitError = ContainerExitedError | ContainerStartError | EndpointError | EngineRequestError

type WaitEffect = Effect.Effect<void, WaitError, DockerEngine | ConnectionMode>

/** Resolves whether a TCP connection to the endpoint opens within one second. */
export const canConnect = (endpoint: Endpoint): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const socket = Net.connect({ host: endpoint.host, port: endpoint.port })
    const finish = (connected: boolean) => {
      socket.removeAllListeners()
      socket.destroy()
      resume(Effect.succeed(connected))
    }
    socket.setTimeout(1000, () => finish(false))
    socket.once("connect", () => finish(true))
    socket.once("error", () => finish(false))
    return Effect.sync(() => socket.destroy())
  })

/**
 * A container that exited at once has no published ports, so a failed
 * resolution reports the exit, with its logs, when that is the cause.
 */
const resolveOrExited = (
  target: WaitTarget,
  resolve: Effect.Effect<Endpoint, EndpointError>
): Effect.Effect<Endpoint, WaitError, DockerEngine> =>
  resolve.pipe(
    Effect.catch((error) => Effect.andThen(failIfExited(target.id, target.name), Effect.fail(error)))
  )

/** Whether an exec failed because the image has no such command. */
const commandUnavailable = (engineMessage: string): boolean =>
  /executable file not found|no such file or directory/i.test(engineMessage)

/**
 * Whether the ports listen inside the container, read from `/proc/net/tcp`:
 * directly from the engine host when this process shares it, else with `cat`
 * in the container. Returns `undefined` when the image has no `cat`.
 */
const listeningInside = Effect.fnUntraced(function*(
  target: WaitTarget,
  ports: ReadonlyArray<ContainerPort>
): Effect.fn.Return<boolean | undefined, WaitError, DockerEngine> {
  const engine = yield* DockerEngine
  if (engine.address._tag === "Socket") {
    const direct = yield* readContainerProcNetTcp(target.inspect.State.Pid ?? 0, target.id)
    if (direct !== undefined) {
      const listening = listeningPorts(direct)
      return ports.every((port) => listening.has(port.port))
    }
  }

  const result: ExecResult | undefined = yield* execInContainer(target.id, ["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    .pipe(
      Effect.catch((error): Effect.Effect<ExecResult | undefined, WaitError, DockerEngine> => {
        if (/is not running|is restarting|is paused/i.test(error.engineMessage)) {
          return Effect.as(failIfExited(target.id, target.name), undefined)
        }
        if (commandUnavailable(error.engineMessage)) {
          return Effect.succeed(undefined)
        }
        return Effect.fail(
          new ContainerStartError({ containerId: target.id, containerName: target.name, engineMessage: error.message })
        )
      })
    )
  if (result === undefined) {
    return undefined
  }
  const listening = listeningPorts(result.stdout)
  return ports.every((port) => listening.has(port.port))
})

const waitForListeningPorts = (
  target: WaitTarget,
  requested: ReadonlyArray<ContainerPort> | undefined
): WaitEffect =>
  Effect.gen(function*() {
    const connection = yield* ConnectionMode
    const ports = (requested ?? target.exposedPorts).filter((port) => port.protocol === "tcp")
    if (ports.length === 0) {
      return
    }
    const endpoints = yield* Effect.forEach(ports, (port) =>
      resolveOrExited(target, connection.resolve(target.inspect, port)))
    const insideUnavailable = yield* Ref.make(false)

    while (true) {
      let ready = true

      if (!(yield* Ref.get(insideUnavailable))) {
        const inside = yield* listeningInside(target, ports)
        if (inside === undefined) {
          yield* Ref.set(insideUnavailable, true)
          // NOTE: without `cat` only the outside connection is checked, which the
          // engine's userland proxy can accept before the server listens.
          yield* Effect.logWarning(
            "The image has no cat to read /proc/net/tcp; checking listening ports from outside only"
          ).pipe(Effect.annotateLogs({ containerId: target.id, containerName: target.name }))
        } else {
          ready = inside
        }
      }

      if (ready) {
        for (const endpoint of endpoints) {
          if (!(yield* canConnect(endpoint))) {
            ready = false
            break
          }
        }
        if (!ready && (yield* Ref.get(insideUnavailable))) {
          yield* failIfExited(target.id, target.name)
        }
      }

      if (ready) {
        return
      }
      yield* Effect.sleep(target.pollInterval)
    }
  })

const waitForLogMessage = (target: WaitTarget, pattern: RegExp, times: number): WaitEffect =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const matcher = new RegExp(pattern.source, pattern.flags.replace("g", ""))

    const stream = yield* engine.call("container logs", target.id, (client) =>
      client.getContainer(target.id).logs({ follow: true, stdout: true, stderr: true }))

    const found = yield* Effect.callback<boolean>((resume) => {
      let count = 0
      const partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" }
      // The container has no TTY, so its output arrives in multiplexed frames.
      let pending = Buffer.alloc(0)
      let done = false

      const finish = (matched: boolean) => {
        if (!done) {
          done = true
          stream.removeAllListeners()
          ;(stream as unknown as { destroy?: () => void }).destroy?.()
          resume(Effect.succeed(matched))
        }
      }
      const feed = (channel: "stdout" | "stderr", text: string) => {
        const lines = (partial[channel] + text).split("\n")
        partial[channel] = lines.pop() ?? ""
        for (const line of lines) {
          if (matcher.test(line)) {
            count += 1
            if (count >= times) {
              finish(true)
              return
            }
          }
        }
      }

      stream.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        while (pending.length >= 8) {
          const length = pending.readUInt32BE(4)
          if (pending.length < 8 + length) {
            break
          }
          const channel = pending[0] === 2 ? "stderr" : "stdout"
          feed(channel, pending.subarray(8, 8 + length).toString("utf8"))
          pending = pending.subarray(8 + length)
        }
      })
      stream.on("end", () => {
        feed("stdout", "\n")
        feed("stderr", "\n")
        finish(count >= times)
      })
      stream.on("error", () =>
        finish(false))
      return Effect.sync(() =>
        finish(false)
      )
    })

    if (!found) {
      yield* failIfExited(target.id, target.name)
      return yield* new ContainerStartError({
        containerId: target.id,
        containerName: target.name,
        engineMessage: `the log stream ended before ${pattern} appeared ${times} times`
      })
    }
  })

const waitForHttp = (
  target: WaitTarget,
  strategy: Extract<WaitStrategy, { readonly _tag: "Http" }>
): WaitEffect =>
  Effect.gen(function*() {
    const connection = yield* ConnectionMode
    const endpoint = yield* resolveOrExited(target, connection.resolve(target.inspect, parsePort(strategy.port)!))
    const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host
    const url = `http://${host}:${endpoint.port}${strategy.path}`

    while (true) {
      const status = yield* Effect.tryPromise((signal) =>
        fetch(url, { method: strategy.method, signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) }).then(
          async (response) => {
            await response.body?.cancel()
            return response.status
          }
        )
      ).pipe(Effect.orElseSucceed(() => undefined))
      if (status !== undefined && strategy.statusCodes.includes(status)) {
        return
      }
      yield* failIfExited(target.id, target.name)
      yield* Effect.sleep(target.pollInterval)
    }
  })

const waitForHealthcheck = (target: WaitTarget): WaitEffect =>
  Effect.gen(function*() {
    while (true) {
      const inspect = yield* failIfExited(target.id, target.name)
      const health = inspect.State.Health
      if (health === undefined || health === null) {
        return yield* new ContainerStartError({
          containerId: target.id,
          containerName: target.name,
          engineMessage: "the image defines no health check; choose another wait strategy"
        })
      }
      if (health.Status === "healthy") {
        return
      }
      yield* Effect.sleep(target.pollInterval)
    }
  })

/** Runs a wait strategy until the container is ready. */
export const waitUntilReady = (target: WaitTarget, strategy: WaitStrategy): WaitEffect => {
  switch (strategy._tag) {
    case "ListeningPorts":
      return waitForListeningPorts(
        target,
        strategy.ports === undefined ? undefined : strategy.ports.map((port) => parsePort(port)!)
      )
    case "LogMessage":
      return waitForLogMessage(target, strategy.pattern, strategy.times)
    case "Http":
      return waitForHttp(target, strategy)
    case "Healthcheck":
      return waitForHealthcheck(target)
    case "Running":
      return Effect.void
    case "All":
      return Effect.forEach(strategy.strategies, (inner) => waitUntilReady(target, inner), {
        concurrency: "unbounded",
        discard: true
      })
  }
}

/** The default strategy: listening exposed TCP ports, or running when none is exposed. */
export const defaultWaitStrategy = (exposedPorts: ReadonlyArray<ContainerPort>): WaitStrategy =>
  exposedPorts.some((port) => port.protocol === "tcp")
    ? { _tag: "ListeningPorts", ports: undefined }
    : { _tag: "Running" }
