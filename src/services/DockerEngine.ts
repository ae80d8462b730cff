/**
 * The Docker engine client: a dockerode instance bound to a checked address
 * and a negotiated API version.
 *
 * @since 0.1.0
 */
import Dockerode from "dockerode"
import { Config, Context, Effect, Layer, Option, Predicate, Result } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { EngineRequestError, EngineUnreachableError } from "../Errors.ts"
import {
  compareApiVersions,
  defaultSocketPaths,
  type EngineAddress,
  engineHostName,
  formatEngineAddress,
  parseEngineAddress
} from "../internal/engineAddress.ts"

export type { EngineAddress } from "../internal/engineAddress.ts"

/**
 * The newest Docker API version this library asks for. Engines older than this
 * are spoken to in their own version; no call relies on a feature newer than
 * API 1.41 (Docker 20.10).
 *
 * @since 0.1.0
 */
export const maxApiVersion = "1.47"

/**
 * Label keys this library puts on every container and network it creates.
 *
 * @since 0.1.0
 */
export const labels = {
  managed: "io.effect-testcontainers.managed",
  session: "io.effect-testcontainers.session",
  version: "io.effect-testcontainers.version"
} as const

/**
 * Random id of this process's test session. Every resource created by this
 * process carries it in the `io.effect-testcontainers.session` label.
 *
 * @since 0.1.0
 */
export const sessionId: string = Crypto.randomUUID()

/**
 * Labels that mark a resource as created by this library in this session.
 *
 * @since 0.1.0
 */
export const sessionLabels: Readonly<Record<string, string>> = {
  [labels.managed]: "true",
  [labels.session]: sessionId,
  [labels.version]: "0.1.0"
}

/**
 * Engine version data read once when the client connects.
 *
 * @since 0.1.0
 */
export interface EngineInfo {
  readonly serverVersion: string
  /** The API version requests are sent with. */
  readonly apiVersion: string
  readonly os: string
  readonly arch: string
}

/**
 * The engine client service.
 *
 * @since 0.1.0
 */
export class DockerEngine extends Context.Service<DockerEngine, {
  readonly client: Dockerode
  readonly address: EngineAddress
  /** Where the address came from, such as `DOCKER_HOST` or `default socket`. */
  readonly addressSource: string
  /** The host name under which this engine publishes mapped ports. */
  readonly hostName: string
  readonly info: EngineInfo
  /**
   * Runs one engine call. A rejection becomes an `EngineRequestError` that
   * names the operation, the target and the engine's message.
   */
  readonly call: <A>(
    operation: string,
    target: string,
    request: (client: Dockerode, signal: AbortSignal) => Promise<A>
  ) => Effect.Effect<A, EngineRequestError>
}>()("effect-testcontainers/DockerEngine") {}

/**
 * Options of the engine client.
 *
 * @since 0.1.0
 */
export interface DockerEngineOptions {
  /** The engine address in `DOCKER_HOST` form. Without it, the default sockets are tried. */
  readonly dockerHost?: string | undefined
  /** Directory with `ca.pem`, `cert.pem` and `key.pem` for a TLS TCP address. */
  readonly certPath?: string | undefined
  readonly tlsVerify?: boolean | undefined
}

/**
 * Reads the status code and message from a dockerode rejection.
 *
 * @since 0.1.0
 */
export const describeEngineFailure = (cause: unknown): { readonly statusCode?: number; readonly message: string } => {
  if (Predicate.isObject(cause)) {
    const statusCode = Predicate.hasProperty(cause, "statusCode") && Predicate.isNumber(cause.statusCode)
      ? cause.statusCode
      : undefined
    const json = Predicate.hasProperty(cause, "json") ? cause.json : undefined
    const jsonMessage = Predicate.isObject(json) && Predicate.hasProperty(json, "message") &&
        Predicate.isString(json.message)
      ? json.message
      : undefined
    const message = jsonMessage ??
      (Predicate.hasProperty(cause, "message") && Predicate.isString(cause.message) ? cause.message : String(cause))
    return statusCode === undefined ? { message: message.trim() } : { statusCode, message: message.trim() }
  }
  return { message: String(cause) }
}

const makeClient = (address: EngineAddress, options: DockerEngineOptions, version?: string): Dockerode => {
  const versioned = version === undefined ? {} : { version: `v${version}` }
  switch (address._tag) {
    case "Socket":
      return new Dockerode({ socketPath: address.path, ...versioned })
    case "Tcp": {
      const tls = options.tlsVerify === true || options.certPath !== undefined
      if (!tls) {
        return new Dockerode({ protocol: "http", host: address.host, port: address.port, ...versioned })
      }
      const directory = options.certPath ?? Path.join(process.env.HOME ?? "", ".docker")
      return new Dockerode({
        protocol: "https",
        host: address.host,
        port: address.port,
        ca: Fs.readFileSync(Path.join(directory, "ca.pem")),
        cert: Fs.readFileSync(Path.join(directory, "cert.pem")),
        key: Fs.readFileSync(Path.join(directory, "key.pem")),
        ...versioned
      })
    }
    case "Ssh":
      return new Dockerode({
        protocol: "ssh",
        host: address.host,
        port: address.port,
        ...(address.username === undefined ? {} : { username: address.username }),
        ...versioned
      })
  }
}

const connectTo = (address: EngineAddress, options: DockerEngineOptions) =>
  Effect.gen(function*() {
    const probe = yield* Effect.try({
      try: () => makeClient(address, options),
      catch: (cause) => describeEngineFailure(cause).message
    })

    const version = yield* Effect.tryPromise({
      try: () => probe.version(),
      catch: (cause) => describeEngineFailure(cause).message
    }).pipe(
      Effect.timeoutOrElse({
        duration: "5 seconds",
        orElse: () => Effect.fail("no answer within 5 seconds")
      })
    )

    const serverApi = version.ApiVersion
    const apiVersion = compareApiVersions(serverApi, maxApiVersion) < 0 ? serverApi : maxApiVersion
    const info: EngineInfo = {
      serverVersion: version.Version,
      apiVersion,
      os: version.Os,
      arch: version.Arch
    }
    return { client: makeClient(address, options, apiVersion), info }
  })

/**
 * Connects to the engine: the `dockerHost` address when given, otherwise each
 * default socket in turn. Negotiates the API version with the engine. Fails
 * with `EngineUnreachableError` listing every address tried.
 *
 * @since 0.1.0
 */
export const make = Effect.fn("DockerEngine.make")(function*(options: DockerEngineOptions = {}) {
  const candidates: Array<{ readonly address: EngineAddress; readonly source: string }> = []
  const attempts: Array<{ address: string; source: string; reason: string }> = []

  if (options.dockerHost !== undefined && options.dockerHost.trim() !== "") {
    const parsed = parseEngineAddress(options.dockerHost)
    if (Result.isFailure(parsed)) {
      return yield* new EngineUnreachableError({
        attempts: [{ address: options.dockerHost, source: "DOCKER_HOST", reason: parsed.failure }]
      })
    }
    candidates.push({ address: parsed.success, source: "DOCKER_HOST" })
  } else {
    for (const path of defaultSocketPaths(process.env)) {
      candidates.push({ address: { _tag: "Socket", path }, source: "default socket" })
    }
  }

  for (const candidate of candidates) {
    if (candidate.address._tag === "Socket" && !Fs.existsSync(candidate.address.path)) {
      attempts.push({
        address: formatEngineAddress(candidate.address),
        source: candidate.source,
        reason: "no such socket file"
      })
      continue
    }

    const connected = yield* Effect.result(connectTo(candidate.address, options))
    if (Result.isFailure(connected)) {
      attempts.push({
        address: formatEngineAddress(candidate.address),
        source: candidate.source,
        reason: connected.failure
      })
      continue
    }

    const { client, info } = connected.success
    const address = candidate.address
    yield* Effect.logDebug("Connected to the Docker engine").pipe(
      Effect.annotateLogs({
        address: formatEngineAddress(address),
        source: candidate.source,
        serverVersion: info.serverVersion,
        apiVersion: info.apiVersion
      })
    )

    const call = <A>(
      operation: string,
      target: string,
      request: (client: Dockerode, signal: AbortSignal) => Promise<A>
    ): Effect.Effect<A, EngineRequestError> =>
      Effect.tryPromise({
        try: (signal) => request(client, signal),
        catch: (cause) => {
          const failure = describeEngineFailure(cause)
          return new EngineRequestError({
            operation,
            target,
            engineMessage: failure.message,
            ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode })
          })
        }
      })

    return DockerEngine.of({
      client,
      address,
      addressSource: candidate.source,
      hostName: engineHostName(address),
      info,
      call
    })
  }

  return yield* new EngineUnreachableError({ attempts })
})

/**
 * Engine options read through the current `ConfigProvider`: `DOCKER_HOST`,
 * `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<DockerEngineOptions> = Config.all({
  dockerHost: Config.String("DOCKER_HOST").pipe(Config.option, Config.map(Option.getOrUndefined)),
  certPath: Config.String("DOCKER_CERT_PATH").pipe(Config.option, Config.map(Option.getOrUndefined)),
  tlsVerify: Config.String("DOCKER_TLS_VERIFY").pipe(
    Config.option,
    Config.map((value) => Option.isSome(value) && value.value !== "" && value.value !== "0")
  )
})

/**
 * A Layer with an engine client for the given options.
 *
 * @since 0.1.0
 */
export const layer = (options: DockerEngineOptions = {}): Layer.Layer<DockerEngine, EngineUnreachableError> =>
  Layer.effect(DockerEngine)(make(options))

/**
 * A Layer with an engine client configured from `DOCKER_HOST`,
 * `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`, read through the current
 * `ConfigProvider`.
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<DockerEngine, EngineUnreachableError | Config.ConfigError> = Layer.effect(
  DockerEngine
)(Effect.flatMap(config, make))
