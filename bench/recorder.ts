/**
 * Records the engine calls and TCP connects an implementation makes.
 *
 * Every implementation here talks to the engine through dockerode, which
 * sends each request through `docker-modem`'s `Modem.prototype.dial`, so
 * wrapping that method in each installed copy of docker-modem records every
 * engine call, including those testcontainers-node makes from its own
 * dockerode. TCP connects are seen by wrapping `net.Socket.prototype.connect`;
 * the benchmark's own HTTP probe is left out.
 */
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Path from "node:path"
import { resolveTestcontainers } from "./implementations.ts"
import { isProbing } from "./probe.ts"
import { repositoryRoot } from "./settings.ts"

/** One engine request. Times are `performance.now()` milliseconds. */
export interface EngineCall {
  readonly method: string
  /** The API path without version, query string and ids, such as `/containers/{id}/json`. */
  readonly path: string
  readonly startedAt: number
  /** When the response arrived. For an exec start, when the stream was attached. */
  endedAt: number | undefined
  failed: boolean
}

/** One TCP connect from this process. */
export interface TcpConnect {
  readonly port: number
  readonly at: number
}

/** The calls and connects recorded between `startRecording` and `stopRecording`. */
export interface Recording {
  readonly calls: Array<EngineCall>
  readonly connects: Array<TcpConnect>
}

let active: Recording | undefined

/** Replaces ids and image names in an engine API path with placeholders. */
export const normalizePath = (rawPath: string): string => {
  const path = rawPath.split("?")[0] ?? rawPath
  return path
    .replace(/^\/v\d+\.\d+/, "")
    .replace(/^\/containers\/(?!create$|json$)[^/]+/, "/containers/{id}")
    .replace(/^\/exec\/[^/]+/, "/exec/{id}")
    .replace(/^\/images\/(?!create$|json$).+\/json$/, "/images/{name}/json")
    .replace(/^\/networks\/(?!create$)[^/]+/, "/networks/{id}")
}

type Dial = (this: unknown, options: { method: string; path: string }, callback: DialCallback) => unknown
type DialCallback = (error: unknown, result: unknown) => void

const wrapped = Symbol.for("effect-testcontainers.bench.recorder")

const wrapDial = (prototype: { dial: Dial } & { [wrapped]?: true }): void => {
  if (prototype[wrapped]) {
    return
  }
  prototype[wrapped] = true
  const original = prototype.dial
  prototype.dial = function(options, callback) {
    const recording = active
    if (recording === undefined) {
      return original.call(this, options, callback)
    }
    const call: EngineCall = {
      method: options.method,
      path: normalizePath(options.path),
      startedAt: performance.now(),
      endedAt: undefined,
      failed: false
    }
    recording.calls.push(call)
    return original.call(this, options, (error, result) => {
      call.endedAt = performance.now()
      call.failed = error !== null && error !== undefined
      callback(error, result)
    })
  }
}

/** Returns the TCP port a `Socket.prototype.connect` call dials, or `undefined` for a unix socket. */
const connectPort = (args: ReadonlyArray<unknown>): number | undefined => {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  if (typeof first === "number") {
    return first
  }
  if (typeof first === "object" && first !== null && "port" in first && !("path" in first && first.path)) {
    const port = Number(first.port)
    return Number.isInteger(port) ? port : undefined
  }
  return undefined
}

const wrapConnect = (): void => {
  const prototype = Net.Socket.prototype as unknown as { connect: (...args: Array<unknown>) => unknown } & {
    [wrapped]?: true
  }
  if (prototype[wrapped]) {
    return
  }
  prototype[wrapped] = true
  const original = prototype.connect
  prototype.connect = function(...args) {
    const recording = active
    if (recording !== undefined && !isProbing()) {
      const port = connectPort(args)
      if (port !== undefined) {
        recording.connects.push({ port, at: performance.now() })
      }
    }
    return original.apply(this, args)
  }
}

/** Loads docker-modem as dockerode at `dockerodeEntry` loads it. */
const modemPrototype = (dockerodeEntry: string): { dial: Dial } => {
  const requireFromDockerode = createRequire(dockerodeEntry)
  const Modem = requireFromDockerode(requireFromDockerode.resolve("docker-modem")) as { prototype: { dial: Dial } }
  return Modem.prototype
}

/**
 * Wraps docker-modem (the library's copy and, when installed, the copy under
 * testcontainers-node) and the socket connect. Recording stays off until
 * `startRecording`.
 */
export const installRecorder = (): void => {
  const requireFromRoot = createRequire(Path.join(repositoryRoot, "package.json"))
  wrapDial(modemPrototype(requireFromRoot.resolve("dockerode")))
  try {
    const requireFromTestcontainers = createRequire(resolveTestcontainers())
    wrapDial(modemPrototype(requireFromTestcontainers.resolve("dockerode")))
  } catch {
    // testcontainers-node is not installed, and only its implementations need it.
  }
  wrapConnect()
}

/** Starts a new recording. Calls made before it are not in it. */
export const startRecording = (): Recording => {
  active = { calls: [], connects: [] }
  return active
}

/** Stops recording. */
export const stopRecording = (): void => {
  active = undefined
}
