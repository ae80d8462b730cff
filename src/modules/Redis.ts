/**
 * A Redis server in a container, ready when it replies `PONG` to `PING`.
 *
 * The server's options are passed as `redis-server` arguments, which the
 * official `redis` image accepts: arguments after `redis-server` override the
 * image's defaults. The default image is the official `redis:7-alpine`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redis, Testcontainers } from "effect-testcontainers"
 *
 * const program = Effect.gen(function*() {
 *   const redis = yield* Redis.start()
 *   return redis.endpoint.url
 * }).pipe(Effect.scoped, Effect.provide(Testcontainers.layer))
 * ```
 *
 * @since 0.1.0
 */
import {
  Clock,
  Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Redacted,
  Schema,
  type Scope
} from "effect"
import * as Net from "node:net"
import * as Container from "../Container.ts"
import { type ContainerError, InvalidSpecError } from "../Errors.ts"
import { withLiveClock } from "../internal/liveClock.ts"
import { validate } from "../internal/validate.ts"
import type { StartedNetwork } from "../Network.ts"
import type { ConnectionMode } from "../services/ConnectionMode.ts"
import type { DockerEngine } from "../services/DockerEngine.ts"
import * as Wait from "../Wait.ts"
import { lastLines, networkAttachment, type ProbeFailure, probeUntilReady, urlHost } from "./internal/readiness.ts"

/**
 * The image used when the options name none: the official Redis 7 image on
 * Alpine Linux.
 *
 * @since 0.1.0
 */
export const defaultImage = "redis:7-alpine"

/**
 * The port Redis listens on inside the container.
 *
 * @since 0.1.0
 */
export const port = 6379

/**
 * Options of a Redis container. Every field is optional.
 *
 * @since 0.1.0
 */
export interface RedisOptions {
  /** The image. Defaults to {@link defaultImage}. */
  readonly image?: string | undefined
  /**
   * An ACL user with every permission, created with `password`. The `default`
   * user is then disabled, so clients must authenticate as this user.
   * Requires `password`.
   */
  readonly user?: string | undefined
  /**
   * The password: of `user` when given, otherwise of the `default` user
   * (`--requirepass`). Without it, clients connect without a password.
   */
  readonly password?: Redacted.Redacted<string> | undefined
  /** The database index in the URL. Defaults to 0. */
  readonly database?: number | undefined
  /** `redis-server` arguments after those the options set, such as `["--maxmemory", "64mb"]`. */
  readonly args?: ReadonlyArray<string> | undefined
  /**
   * Changes the container spec after the module has set image, port,
   * command, network and timeout, so it can add mounts, labels or a pull
   * policy and override any of those settings.
   */
  readonly customize?: ((spec: Container.ContainerSpec) => Container.ContainerSpec) | undefined
  /** A user network to join. */
  readonly network?: StartedNetwork | string | undefined
  /** Aliases on `network`, under which peer containers reach the server on port 6379. */
  readonly aliases?: ReadonlyArray<string> | undefined
  /**
   * The time until the server replies `PONG`, 60 seconds by default, counted from the
   * moment the image is present: the container start and the protocol check
   * share it, and at least one check is made.
   */
  readonly startupTimeout?: Duration.Input | undefined
}

/**
 * Connection details for the test process: host and port from the
 * connection mode in force, credentials, and a `redis://` URL.
 *
 * @since 0.1.0
 */
export interface RedisConnectionInfo {
  readonly host: string
  readonly port: number
  /** The ACL user, when the options created one. */
  readonly user: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly database: number
  /** `redis://[user]:[password]@host:port/database`, with user and password URL-encoded. */
  readonly url: Redacted.Redacted<string>
}

/**
 * The endpoint service provided by {@link layer}.
 *
 * @since 0.1.0
 */
export class RedisEndpoint extends Context.Service<RedisEndpoint, RedisConnectionInfo>()(
  "effect-testcontainers/Redis/RedisEndpoint"
) {}

/**
 * A started Redis container and its endpoint.
 *
 * @since 0.1.0
 */
export interface StartedRedis {
  readonly container: Container.StartedContainer
  readonly endpoint: RedisConnectionInfo
}

/**
 * The started container service provided by {@link layer}, for `exec`, logs
 * and network addresses.
 *
 * @since 0.1.0
 */
export class RedisContainer extends Context.Service<RedisContainer, StartedRedis>()(
  "effect-testcontainers/Redis/RedisContainer"
) {}

/**
 * Redis did not reply `PONG` to `PING`: the server replied with an error (such
 * as `WRONGPASS` or `NOAUTH`), or it did not respond before the startup timeout.
 *
 * @since 0.1.0
 */
export class RedisReadinessError extends Schema.TaggedError<RedisReadinessError>()("RedisReadinessError", {
  containerId: Schema.String,
  containerName: Schema.String,
  image: Schema.String,
  /** `host:port` the test process connected to. */
  endpoint: Schema.String,
  /** `rejected` when the server replied with an error, `timeout` when it did not respond in time. */
  reason: Schema.Literals(["rejected", "timeout"]),
  /** The server's error reply or the connection error of the last attempt. */
  lastError: Schema.String,
  attempts: Schema.Number,
  /** The startup timeout in force, formatted as a duration. */
  timeout: Schema.String,
  lastLogs: Schema.String
}) {
  override get message(): string {
    const target = `Redis in container ${this.containerName} (${
      this.containerId.slice(0, 12)
    }, image ${this.image}) at ${this.endpoint}`
    const summary = this.reason === "rejected"
      ? `${target} replied to PING with an error: ${this.lastError}. Check that the user and password in the options match the server's.`
      : `${target} did not respond to PING within ${this.timeout} (${this.attempts} attempts). Last error: ${this.lastError}. Raise startupTimeout or read the logs below.`
    return `${summary}\nLast log lines:\n${this.lastLogs}`
  }
}

/**
 * Any error {@link start} can fail with.
 *
 * @since 0.1.0
 */
export type RedisError = ContainerError | RedisReadinessError

/**
 * Builds a `redis://` URL. User and password are URL-encoded.
 *
 * @since 0.1.0
 */
export const makeUrl = (connection: {
  readonly host: string
  readonly port: number
  readonly user?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  readonly database?: number | undefined
}): Redacted.Redacted<string> => {
  const user = connection.user === undefined ? "" : encodeURIComponent(connection.user)
  const credentials = connection.password === undefined
    ? (user === "" ? "" : `${user}@`)
    : `${user}:${encodeURIComponent(Redacted.value(connection.password))}@`
  return Redacted.make(
    `redis://${credentials}${urlHost(connection.host)}:${connection.port}/${connection.database ?? 0}`,
    { label: "redis url" }
  )
}

/** Encodes a command in the Redis serialization protocol (RESP). */
const encodeCommand = (args: ReadonlyArray<string>): string =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`

/** Error replies after which another attempt can succeed: the server is still loading or busy. */
const transientReply = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN)\b/

/**
 * Opens a TCP connection, authenticates when a password is set, sends
 * `PING` and expects `+PONG`. Every reply to these commands is one line.
 */
const ping = (connection: RedisConnectionInfo, timeout: Duration.Duration): Effect.Effect<void, ProbeFailure> =>
  Effect.callback<void, ProbeFailure>((resume) => {
    const commands: Array<ReadonlyArray<string>> = []
    if (connection.password !== undefined) {
      const password = Redacted.value(connection.password)
      commands.push(connection.user === undefined ? ["AUTH", password] : ["AUTH", connection.user, password])
    }
    commands.push(["PING"])

    const socket = Net.connect({ host: connection.host, port: connection.port })
    let buffered = ""
    let replies = 0
    let done = false
    const finish = (failure: ProbeFailure | undefined) => {
      if (done) {
        return
      }
      done = true
      socket.destroy()
      resume(failure === undefined ? Effect.void : Effect.fail(failure))
    }

    socket.setTimeout(
      Math.max(1, Math.round(Duration.toMillis(timeout))),
      () => finish({ message: "no reply before the attempt timed out", retryable: true })
    )
    socket.once("connect", () => socket.write(commands.map(encodeCommand).join("")))
    socket.on("data", (chunk) => {
      buffered += chunk.toString("utf8")
      let end = buffered.indexOf("\r\n")
      while (end >= 0) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        replies++
        if (line.startsWith("-")) {
          const message = line.slice(1)
          return finish({ message, retryable: transientReply.test(message) })
        }
        if (replies === commands.length) {
          return finish(
            line === "+PONG" ? undefined : { message: `unexpected reply to PING: ${line}`, retryable: false }
          )
        }
        end = buffered.indexOf("\r\n")
      }
    })
    socket.once("error", (error) => finish({ message: error.message, retryable: true }))
    // The engine's port proxy accepts a connection and closes it while
    // nothing listens behind it.
    socket.once("close", () => finish({ message: "the connection closed before a reply", retryable: true }))
    return Effect.sync(() => {
      done = true
      socket.destroy()
    })
  })

const OptionsSchema = Schema.Struct({
  image: Schema.optional(Schema.NonEmptyString),
  user: Schema.optional(Schema.NonEmptyString.check(
    Schema.isPattern(/^[^\s]+$/, { message: "a Redis user name must contain no whitespace" })
  )),
  database: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  args: Schema.optional(Schema.Array(Schema.String))
})

const invalid = (path: string, value: string, reason: string) =>
  new InvalidSpecError({ path: `redis options.${path}`, value, reason })

/** Checks the options that the container spec validation does not cover. */
const validateOptions = Effect.fnUntraced(function*(options: RedisOptions) {
  yield* validate(OptionsSchema, options, "redis options")
  if (options.user !== undefined && options.password === undefined) {
    return yield* invalid("password", "(missing)", "a user needs a password. Pass password as a Redacted string")
  }
  if (options.aliases !== undefined && options.aliases.length > 0 && options.network === undefined) {
    return yield* invalid(
      "aliases",
      JSON.stringify(options.aliases),
      "aliases need a network. Pass network, such as one from Network.make()"
    )
  }
  const timeout = Duration.fromInput(options.startupTimeout ?? Container.defaultStartupTimeout)
  if (Option.isNone(timeout)) {
    return yield* invalid(
      "startupTimeout",
      String(options.startupTimeout),
      "expected a duration, such as \"60 seconds\" or a number of milliseconds"
    )
  }
  return timeout.value
})

/** Builds the `redis-server` arguments that set up the credentials of the options. */
const credentialArgs = (options: RedisOptions): ReadonlyArray<string> => {
  if (options.password === undefined) {
    return []
  }
  const password = Redacted.value(options.password)
  return options.user === undefined
    ? ["--requirepass", password]
    : ["--user", options.user, "on", `>${password}`, "~*", "&*", "+@all", "--user", "default", "off"]
}

/**
 * Builds the container spec for the options: port 6379, the `redis-server`
 * command with the credential arguments and `args`, network, startup
 * timeout, and a wait for port 6379 to listen inside the container, and then
 * applies `customize`.
 *
 * @since 0.1.0
 */
export const makeSpec = (options: RedisOptions): Container.ContainerSpec => {
  const attachment = networkAttachment(options.network, options.aliases)
  const spec = Container.make(options.image ?? defaultImage).pipe(
    Container.withLabels({ "io.effect-testcontainers.module": "redis" }),
    Container.withExposedPorts(port),
    Container.withCommand(["redis-server", ...credentialArgs(options), ...(options.args ?? [])]),
    Container.withWaitStrategy(Wait.forListeningPorts(port)),
    Container.withStartupTimeout(options.startupTimeout ?? Container.defaultStartupTimeout)
  )
  const withNetwork = attachment === undefined
    ? spec
    : Container.withNetwork(spec, attachment.network, { aliases: attachment.aliases })
  return options.customize === undefined ? withNetwork : options.customize(withNetwork)
}

/**
 * Starts a Redis container and waits until it answers `PING` (after `AUTH`
 * when a password is set) from the test process, retrying until the startup
 * timeout. The container is removed when the scope closes, and at once when
 * the start fails.
 *
 * Fails with `InvalidSpecError` for invalid options, with the container
 * errors of `Container.start` (an image without Redis fails with
 * `ContainerStartError`), and with `RedisReadinessError` when the server
 * answers with an error or does not answer in time.
 *
 * @since 0.1.0
 */
export const start: (
  options?: RedisOptions
) => Effect.Effect<StartedRedis, RedisError, DockerEngine | ConnectionMode | Scope.Scope> = Effect.fn("Redis.start")(
  function*(options: RedisOptions = {}) {
    const startupTimeout = yield* validateOptions(options)
    const spec = makeSpec(options)

    const container = yield* Container.start(spec)
    const address = yield* container.endpoint(port)
    const credentials = {
      user: options.user,
      password: options.password,
      database: options.database ?? 0
    }
    const endpoint: RedisConnectionInfo = {
      host: address.host,
      port: address.port,
      ...credentials,
      url: makeUrl({ ...address, ...credentials })
    }
    const annotations = {
      containerName: container.name,
      containerId: container.id,
      endpoint: `${address.host}:${address.port}`
    }

    const attempts = yield* probeUntilReady((timeout) => ping(endpoint, timeout), {
      // The protocol check shares the container's startup deadline, which
      // began after the image pull.
      deadline: container.startupBeganAt + Duration.toMillis(spec.startupTimeout),
      interval: Duration.fromInputUnsafe(spec.pollInterval),
      annotations
    }).pipe(
      Effect.catch((outcome) =>
        Effect.flatMap(lastLines(container), (lastLogs) => {
          const last = outcome._tag === "Rejected" ? outcome.failure : outcome.last
          return Effect.fail(
            new RedisReadinessError({
              containerId: container.id,
              containerName: container.name,
              image: container.image,
              endpoint: annotations.endpoint,
              reason: outcome._tag === "Rejected" ? "rejected" : "timeout",
              lastError: last?.message ?? "no attempt finished",
              attempts: outcome.attempts,
              timeout: Duration.format(startupTimeout),
              lastLogs
            })
          )
        })
      )
    )

    const readyAt = yield* Clock.currentTimeMillis
    yield* Effect.logInfo("Redis ready").pipe(
      Effect.annotateLogs({ ...annotations, attempts, startupMillis: readyAt - container.startupBeganAt })
    )
    return { container, endpoint }
  },
  withLiveClock
)

/**
 * Starts a Redis container and returns its endpoint. The container is
 * removed when the scope closes. Fails like {@link start}.
 *
 * @since 0.1.0
 */
export const make = (
  options?: RedisOptions
): Effect.Effect<RedisConnectionInfo, RedisError, DockerEngine | ConnectionMode | Scope.Scope> =>
  Effect.map(start(options), (started) => started.endpoint)

const layerFrom = <E, R>(
  acquire: Effect.Effect<StartedRedis, E, R>
): Layer.Layer<RedisEndpoint | RedisContainer, E, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(
    Effect.map(acquire, (started) =>
      Context.make(RedisContainer, started).pipe(Context.add(RedisEndpoint, started.endpoint)))
  )

/**
 * A Layer that starts a Redis container when built and removes it when
 * released. Provides {@link RedisEndpoint} and {@link RedisContainer}. Fails
 * like {@link start}.
 *
 * @since 0.1.0
 */
export const layer = (
  options: RedisOptions = {}
): Layer.Layer<RedisEndpoint | RedisContainer, RedisError, DockerEngine | ConnectionMode> => layerFrom(start(options))

/**
 * Like {@link layer}, with options read through the current `ConfigProvider`,
 * such as `{ image: Config.String("REDIS_IMAGE") }`. Also fails with
 * `ConfigError` when a value is missing or invalid.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Wrap<RedisOptions>
): Layer.Layer<RedisEndpoint | RedisContainer, RedisError | Config.ConfigError, DockerEngine | ConnectionMode> =>
  layerFrom(Effect.flatMap(Config.unwrap(config), start))

/**
 * Configuration keys under which {@link configProvider} exposes the endpoint.
 * A field left out is not exposed. User and password are exposed only when
 * the options set them.
 *
 * @since 0.1.0
 */
export interface RedisConfigKeys {
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: string | undefined
  readonly user?: string | undefined
  readonly password?: string | undefined
}

/**
 * The keys used when none are given: `REDIS_URL`, `REDIS_HOST`,
 * `REDIS_PORT`, `REDIS_USER` and `REDIS_PASSWORD`.
 *
 * @since 0.1.0
 */
export const defaultConfigKeys: RedisConfigKeys = {
  url: "REDIS_URL",
  host: "REDIS_HOST",
  port: "REDIS_PORT",
  user: "REDIS_USER",
  password: "REDIS_PASSWORD"
}

/**
 * A `ConfigProvider` with the endpoint's values under `keys`, read like
 * environment variables, so `Config.String("REDIS_URL")` returns the URL.
 *
 * @since 0.1.0
 */
export const configProvider = (
  endpoint: RedisConnectionInfo,
  keys: RedisConfigKeys = defaultConfigKeys
): ConfigProvider.ConfigProvider => {
  const values: Record<string, string | undefined> = {}
  const set = (key: string | undefined, value: string | undefined) => {
    if (key !== undefined && value !== undefined) {
      values[key] = value
    }
  }
  set(keys.url, Redacted.value(endpoint.url))
  set(keys.host, endpoint.host)
  set(keys.port, String(endpoint.port))
  set(keys.user, endpoint.user)
  set(keys.password, endpoint.password === undefined ? undefined : Redacted.value(endpoint.password))
  return ConfigProvider.fromEnvRecord(values)
}

/**
 * A Layer that puts the {@link RedisEndpoint} values in front of the current
 * `ConfigProvider` under `keys`, so application code that reads
 * `Config.String("REDIS_URL")` connects to the container. Keys it does not
 * set still come from the current provider. Pass `asPrimary: false` to let
 * the current provider win where both have a value.
 *
 * @since 0.1.0
 */
export const configProviderLayer = (
  keys: RedisConfigKeys = defaultConfigKeys,
  options?: { readonly asPrimary?: boolean | undefined }
): Layer.Layer<never, never, RedisEndpoint> =>
  ConfigProvider.layerAdd(Effect.map(RedisEndpoint, (endpoint) => configProvider(endpoint, keys)), {
    asPrimary: options?.asPrimary ?? true
  })
