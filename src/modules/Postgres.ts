/**
 * A PostgreSQL server in a container, ready when it returns a row for `SELECT 1`.
 *
 * The container follows the environment contract of the official `postgres`
 * image: `POSTGRES_USER`, `POSTGRES_PASSWORD` and `POSTGRES_DB`. Any image
 * with that contract works, such as the official `postgres:17-alpine` (the
 * default).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Postgres, Testcontainers } from "effect-testcontainers"
 *
 * const program = Effect.gen(function*() {
 *   const postgres = yield* Postgres.start({ database: "app" })
 *   return postgres.endpoint.url
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
import * as Crypto from "node:crypto"
import type { Client as PgClient } from "pg"
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
 * The image used when the options name none: the official PostgreSQL 17
 * image on Alpine Linux.
 *
 * @since 0.1.0
 */
export const defaultImage = "postgres:17-alpine"

/**
 * The port PostgreSQL listens on inside the container.
 *
 * @since 0.1.0
 */
export const port = 5432

/**
 * Server arguments passed before the caller's `args`: `fsync=off`, because a
 * test database need not survive a crash. A later `-c fsync=on` overrides it.
 *
 * @since 0.1.0
 */
export const defaultArgs: ReadonlyArray<string> = ["-c", "fsync=off"]

/**
 * Options of a PostgreSQL container. Every field is optional.
 *
 * @since 0.1.0
 */
export interface PostgresOptions {
  /** The image. Defaults to {@link defaultImage}. */
  readonly image?: string | undefined
  /** The superuser name (`POSTGRES_USER`). Defaults to `postgres`. */
  readonly user?: string | undefined
  /** The superuser password (`POSTGRES_PASSWORD`). Defaults to a random one. */
  readonly password?: Redacted.Redacted<string> | undefined
  /** The database created at first start (`POSTGRES_DB`). Defaults to the user name. */
  readonly database?: string | undefined
  /** Server arguments after {@link defaultArgs}, such as `["-c", "max_connections=200"]`. */
  readonly args?: ReadonlyArray<string> | undefined
  /**
   * Changes the container spec after the module has set image, environment,
   * port, command, network and timeout, so it can add mounts, labels or a
   * pull policy and override any of those settings.
   */
  readonly customize?: ((spec: Container.ContainerSpec) => Container.ContainerSpec) | undefined
  /** A user network to join. */
  readonly network?: StartedNetwork | string | undefined
  /** Aliases on `network`, under which peer containers reach the server on port 5432. */
  readonly aliases?: ReadonlyArray<string> | undefined
  /**
   * The time until `SELECT 1` succeeds, 60 seconds by default, counted from the
   * moment the image is present: the container start and the protocol check
   * share it, and at least one check is made.
   */
  readonly startupTimeout?: Duration.Input | undefined
}

/**
 * Connection details for the test process: host and port from the
 * connection mode in force, credentials, and a `postgres://` URL.
 *
 * @since 0.1.0
 */
export interface PostgresConnectionInfo {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: Redacted.Redacted<string>
  readonly database: string
  /** `postgres://user:password@host:port/database`, with user and password URL-encoded. */
  readonly url: Redacted.Redacted<string>
}

/**
 * The endpoint service provided by {@link layer}.
 *
 * @since 0.1.0
 */
export class PostgresEndpoint extends Context.Service<PostgresEndpoint, PostgresConnectionInfo>()(
  "effect-testcontainers/Postgres/PostgresEndpoint"
) {}

/**
 * A started PostgreSQL container and its endpoint.
 *
 * @since 0.1.0
 */
export interface StartedPostgres {
  readonly container: Container.StartedContainer
  readonly endpoint: PostgresConnectionInfo
}

/**
 * The started container service provided by {@link layer}, for `exec`, logs
 * and network addresses.
 *
 * @since 0.1.0
 */
export class PostgresContainer extends Context.Service<PostgresContainer, StartedPostgres>()(
  "effect-testcontainers/Postgres/PostgresContainer"
) {}

/**
 * `SELECT 1` did not succeed: the server rejected the connection (a wrong
 * password or a missing database, with the server's message), or it did not
 * respond before the startup timeout.
 *
 * @since 0.1.0
 */
export class PostgresReadinessError extends Schema.TaggedError<PostgresReadinessError>()("PostgresReadinessError", {
  containerId: Schema.String,
  containerName: Schema.String,
  image: Schema.String,
  /** `host:port` the test process connected to. */
  endpoint: Schema.String,
  user: Schema.String,
  database: Schema.String,
  /** `rejected` when the server rejected the connection, `timeout` when it did not respond in time. */
  reason: Schema.Literals(["rejected", "timeout"]),
  /** The server's or the client's message from the last attempt. */
  lastError: Schema.String,
  /** The SQLSTATE the server sent with its message, such as `28P01`. */
  sqlState: Schema.optionalKey(Schema.String),
  attempts: Schema.Number,
  /** The startup timeout in force, formatted as a duration. */
  timeout: Schema.String,
  lastLogs: Schema.String
}) {
  override get message(): string {
    const code = this.sqlState === undefined ? "" : ` (SQLSTATE ${this.sqlState})`
    const target = `PostgreSQL in container ${this.containerName} (${
      this.containerId.slice(0, 12)
    }, image ${this.image}) at ${this.endpoint}`
    const summary = this.reason === "rejected"
      ? `${target} rejected user ${this.user} on database ${this.database}: ${this.lastError}${code}. Check that the user, password and database in the options match what the server was initialized with.`
      : `${target} did not respond to SELECT 1 as user ${this.user} on database ${this.database} within ${this.timeout} (${this.attempts} attempts). Last error: ${this.lastError}${code}. Raise startupTimeout or read the logs below.`
    return `${summary}\nLast log lines:\n${this.lastLogs}`
  }
}

/**
 * Any error {@link start} can fail with.
 *
 * @since 0.1.0
 */
export type PostgresError = ContainerError | PostgresReadinessError

/**
 * Builds a `postgres://` URL. User, password and database are URL-encoded.
 *
 * @since 0.1.0
 */
export const makeUrl = (connection: {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: Redacted.Redacted<string>
  readonly database: string
}): Redacted.Redacted<string> =>
  Redacted.make(
    `postgres://${encodeURIComponent(connection.user)}:${encodeURIComponent(Redacted.value(connection.password))}@${
      urlHost(connection.host)
    }:${connection.port}/${encodeURIComponent(connection.database)}`,
    { label: "postgres url" }
  )

/** SQLSTATE values after which another attempt cannot succeed. */
const isFinalSqlState = (code: string): boolean =>
  // Class 28: invalid authorization, such as a wrong password (28P01).
  // 3D000: the database does not exist.
  code.startsWith("28") || code === "3D000"

const toProbeFailure = (cause: unknown): ProbeFailure => {
  // An error the server sent (pg's DatabaseError) has a severity and the
  // SQLSTATE in `code`. Socket errors have a `code` such as ECONNREFUSED, but
  // no severity.
  if (cause instanceof Error && "severity" in cause && "code" in cause && typeof cause.code === "string") {
    const code = cause.code
    return { message: cause.message, retryable: !isFinalSqlState(code), code }
  }
  return { message: cause instanceof Error ? cause.message : String(cause), retryable: true }
}

/**
 * Connects with `pg`, runs `SELECT 1` and disconnects. The connection is
 * closed on success, failure and interruption alike.
 */
const selectOne = (connection: PostgresConnectionInfo, timeout: Duration.Duration): Effect.Effect<void, ProbeFailure> =>
  Effect.acquireUseRelease(
    // `pg` is loaded on first use, so programs that never start PostgreSQL
    // do not pay for it.
    Effect.promise(() => import("pg")).pipe(Effect.map(({ default: pg }) => {
      const millis = Math.max(1, Math.round(Duration.toMillis(timeout)))
      const client: PgClient = new pg.Client({
        host: connection.host,
        port: connection.port,
        user: connection.user,
        password: Redacted.value(connection.password),
        database: connection.database,
        connectionTimeoutMillis: millis,
        query_timeout: millis
      })
      // A connection lost after connect is reported as an event; without a
      // listener Node would treat it as an uncaught error.
      client.on("error", () => {})
      return client
    })),
    (client) =>
      Effect.tryPromise({
        try: async () => {
          await client.connect()
          const result = await client.query<{ ready: number }>("SELECT 1 AS ready")
          if (result.rows[0]?.ready !== 1) {
            throw new Error(`SELECT 1 returned ${JSON.stringify(result.rows)}`)
          }
        },
        catch: toProbeFailure
      }),
    (client) =>
      Effect.promise(() => client.end().catch(() => undefined)).pipe(
        Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.void })
      )
  )

const OptionsSchema = Schema.Struct({
  image: Schema.optional(Schema.NonEmptyString),
  user: Schema.optional(Schema.NonEmptyString),
  database: Schema.optional(Schema.NonEmptyString),
  args: Schema.optional(Schema.Array(Schema.String))
})

const invalid = (path: string, value: string, reason: string) =>
  new InvalidSpecError({ path: `postgres options.${path}`, value, reason })

/** Checks the options that the container spec validation does not cover. */
const validateOptions = Effect.fnUntraced(function*(options: PostgresOptions) {
  yield* validate(OptionsSchema, options, "postgres options")
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

/**
 * Builds the container spec for the options: environment, port 5432, the
 * `postgres` command with its arguments, network, startup timeout, and a
 * wait for port 5432 to listen inside the container, and then applies
 * `customize`.
 *
 * @since 0.1.0
 */
export const makeSpec = (
  options: PostgresOptions,
  credentials: { readonly user: string; readonly password: Redacted.Redacted<string>; readonly database: string }
): Container.ContainerSpec => {
  const attachment = networkAttachment(options.network, options.aliases)
  const spec = Container.make(options.image ?? defaultImage).pipe(
    Container.withEnv({
      POSTGRES_USER: credentials.user,
      POSTGRES_PASSWORD: Redacted.value(credentials.password),
      POSTGRES_DB: credentials.database
    }),
    Container.withLabels({ "io.effect-testcontainers.module": "postgres" }),
    Container.withExposedPorts(port),
    // "postgres" as the first argument makes a clear "executable not found"
    // error on an image without PostgreSQL.
    Container.withCommand(["postgres", ...defaultArgs, ...(options.args ?? [])]),
    // The official entrypoint (docker_temp_server_start in docker-library's
    // docker-entrypoint.sh) runs a temporary server during the first
    // initialization that listens on the unix socket only, so port 5432
    // listens only once the final server runs. A log line would not do: the
    // ready message appears twice on a fresh data directory and once on an
    // existing one.
    Container.withWaitStrategy(Wait.forListeningPorts(port)),
    Container.withStartupTimeout(options.startupTimeout ?? Container.defaultStartupTimeout)
  )
  const withNetwork = attachment === undefined
    ? spec
    : Container.withNetwork(spec, attachment.network, { aliases: attachment.aliases })
  return options.customize === undefined ? withNetwork : options.customize(withNetwork)
}

/**
 * Starts a PostgreSQL container and waits until a `pg` client from the test
 * process connects and runs `SELECT 1`, retrying until the startup timeout.
 * The container is removed when the scope closes, and at once when the start
 * fails.
 *
 * Fails with `InvalidSpecError` for invalid options, with the container
 * errors of `Container.start` (an image without PostgreSQL fails with
 * `ContainerStartError`), and with `PostgresReadinessError` when the server
 * rejects the credentials or does not answer in time.
 *
 * @since 0.1.0
 */
export const start: (
  options?: PostgresOptions
) => Effect.Effect<StartedPostgres, PostgresError, DockerEngine | ConnectionMode | Scope.Scope> = Effect.fn(
  "Postgres.start"
)(function*(options: PostgresOptions = {}) {
  const startupTimeout = yield* validateOptions(options)
  const user = options.user ?? "postgres"
  const credentials = {
    user,
    password: options.password ?? Redacted.make(Crypto.randomBytes(18).toString("base64url"), { label: "password" }),
    database: options.database ?? user
  }
  const spec = makeSpec(options, credentials)

  const container = yield* Container.start(spec)
  const address = yield* container.endpoint(port)
  const endpoint: PostgresConnectionInfo = {
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

  const attempts = yield* probeUntilReady((timeout) => selectOne(endpoint, timeout), {
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
          new PostgresReadinessError({
            containerId: container.id,
            containerName: container.name,
            image: container.image,
            endpoint: annotations.endpoint,
            user: credentials.user,
            database: credentials.database,
            reason: outcome._tag === "Rejected" ? "rejected" : "timeout",
            lastError: last?.message ?? "no attempt finished",
            ...(last?.code === undefined ? {} : { sqlState: last.code }),
            attempts: outcome.attempts,
            timeout: Duration.format(startupTimeout),
            lastLogs
          })
        )
      })
    )
  )

  const readyAt = yield* Clock.currentTimeMillis
  yield* Effect.logInfo("PostgreSQL ready").pipe(
    Effect.annotateLogs({ ...annotations, attempts, startupMillis: readyAt - container.startupBeganAt })
  )
  return { container, endpoint }
}, withLiveClock)

/**
 * Starts a PostgreSQL container and returns its endpoint. The container is
 * removed when the scope closes. Fails like {@link start}.
 *
 * @since 0.1.0
 */
export const make = (
  options?: PostgresOptions
): Effect.Effect<PostgresConnectionInfo, PostgresError, DockerEngine | ConnectionMode | Scope.Scope> =>
  Effect.map(start(options), (started) => started.endpoint)

const layerFrom = <E, R>(
  acquire: Effect.Effect<StartedPostgres, E, R>
): Layer.Layer<PostgresEndpoint | PostgresContainer, E, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(
    Effect.map(acquire, (started) =>
      Context.make(PostgresContainer, started).pipe(Context.add(PostgresEndpoint, started.endpoint)))
  )

/**
 * A Layer that starts a PostgreSQL container when built and removes it when
 * released. Provides {@link PostgresEndpoint} and {@link PostgresContainer}.
 * Fails like {@link start}.
 *
 * @since 0.1.0
 */
export const layer = (
  options: PostgresOptions = {}
): Layer.Layer<PostgresEndpoint | PostgresContainer, PostgresError, DockerEngine | ConnectionMode> =>
  layerFrom(start(options))

/**
 * Like {@link layer}, with options read through the current `ConfigProvider`,
 * such as `{ image: Config.String("POSTGRES_IMAGE") }`. Also fails with
 * `ConfigError` when a value is missing or invalid.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Wrap<PostgresOptions>
): Layer.Layer<
  PostgresEndpoint | PostgresContainer,
  PostgresError | Config.ConfigError,
  DockerEngine | ConnectionMode
> => layerFrom(Effect.flatMap(Config.unwrap(config), start))

/**
 * Configuration keys under which {@link configProvider} exposes the endpoint.
 * A field left out is not exposed.
 *
 * @since 0.1.0
 */
export interface PostgresConfigKeys {
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: string | undefined
  readonly user?: string | undefined
  readonly password?: string | undefined
  readonly database?: string | undefined
}

/**
 * The keys used when none are given: `DATABASE_URL` and the libpq variables
 * `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE`.
 *
 * @since 0.1.0
 */
export const defaultConfigKeys: PostgresConfigKeys = {
  url: "DATABASE_URL",
  host: "PGHOST",
  port: "PGPORT",
  user: "PGUSER",
  password: "PGPASSWORD",
  database: "PGDATABASE"
}

/**
 * A `ConfigProvider` with the endpoint's values under `keys`, read like
 * environment variables, so `Config.Redacted("DATABASE_URL")` returns the
 * URL.
 *
 * @since 0.1.0
 */
export const configProvider = (
  endpoint: PostgresConnectionInfo,
  keys: PostgresConfigKeys = defaultConfigKeys
): ConfigProvider.ConfigProvider => {
  const values: Record<string, string | undefined> = {}
  const set = (key: string | undefined, value: string) => {
    if (key !== undefined) {
      values[key] = value
    }
  }
  set(keys.url, Redacted.value(endpoint.url))
  set(keys.host, endpoint.host)
  set(keys.port, String(endpoint.port))
  set(keys.user, endpoint.user)
  set(keys.password, Redacted.value(endpoint.password))
  set(keys.database, endpoint.database)
  return ConfigProvider.fromEnvRecord(values)
}

/**
 * A Layer that puts the {@link PostgresEndpoint} values in front of the
 * current `ConfigProvider` under `keys`, so application code that reads
 * `Config.Redacted("DATABASE_URL")` connects to the container. Keys it does
 * not set still come from the current provider. Pass `asPrimary: false` to
 * let the current provider win where both have a value.
 *
 * @since 0.1.0
 */
export const configProviderLayer = (
  keys: PostgresConfigKeys = defaultConfigKeys,
  options?: { readonly asPrimary?: boolean | undefined }
): Layer.Layer<never, never, PostgresEndpoint> =>
  ConfigProvider.layerAdd(Effect.map(PostgresEndpoint, (endpoint) => configProvider(endpoint, keys)), {
    asPrimary: options?.asPrimary ?? true
  })
