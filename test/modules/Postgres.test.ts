import { assert, describe, layer } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { Client } from "pg"
import * as Container from "../../src/Container.ts"
import { layer as TestcontainersLayer } from "../../src/layers/Testcontainers.ts"
import * as Postgres from "../../src/modules/Postgres.ts"
import * as Network from "../../src/Network.ts"
import {
  caseLabel,
  countCaseContainers,
  expectNothingLeft,
  failureOf,
  neverPull,
  newCaseId,
  postgresImage,
  toolboxImage
} from "./fixtures.ts"

/** Connects a `pg` client for the scope. */
const connect = (config: ConstructorParameters<typeof Client>[0]) =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const client = new Client(config)
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

const query = <Row extends Record<string, unknown>>(client: Client, text: string, values: Array<unknown> = []) =>
  Effect.tryPromise(() => client.query<Row>(text, values)).pipe(Effect.map((result) => result.rows))

const password = Redacted.make("s3cret: with spaces/and@signs")

const PostgresLayer = Postgres.layer({
  image: postgresImage,
  user: "app_user",
  password,
  database: "app",
  customize: neverPull
})

layer(PostgresLayer.pipe(Layer.provideMerge(TestcontainersLayer)), { excludeTestServices: true })(
  "Postgres.layer",
  (it) => {
    it.effect("writes and reads back with pg", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        const client = yield* connect({ connectionString: Redacted.value(endpoint.url) })

        yield* query(client, "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        yield* query(client, "INSERT INTO notes (body) VALUES ($1), ($2)", ["first", "second"])
        const rows = yield* query<{ body: string }>(client, "SELECT body FROM notes ORDER BY id")

        assert.deepStrictEqual(rows.map((row) => row.body), ["first", "second"])
      }))

    it.effect("shares one server across tests", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        const client = yield* connect({
          host: endpoint.host,
          port: endpoint.port,
          user: endpoint.user,
          password: Redacted.value(endpoint.password),
          database: endpoint.database
        })

        const rows = yield* query<{ count: string }>(client, "SELECT count(*) AS count FROM notes")

        assert.strictEqual(rows[0]?.count, "2")
      }))

    it.effect("endpoint follows the options", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        const { container } = yield* Postgres.PostgresContainer
        const mapped = yield* container.mappedPort(5432)
        const url = new URL(Redacted.value(endpoint.url))

        assert.strictEqual(endpoint.port, mapped)
        assert.strictEqual(endpoint.user, "app_user")
        assert.strictEqual(endpoint.database, "app")
        assert.strictEqual(Redacted.value(endpoint.password), Redacted.value(password))
        assert.strictEqual(url.protocol, "postgres:")
        assert.strictEqual(decodeURIComponent(url.password), Redacted.value(password))
        assert.strictEqual(url.pathname, "/app")
        assert.notInclude(String(endpoint.url), "s3cret", "the URL must print redacted")
      }))

    it.effect("wrong password fails with the server's message", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint

        const exit = yield* Effect.exit(connect({
          host: endpoint.host,
          port: endpoint.port,
          user: endpoint.user,
          password: "not-the-password",
          database: endpoint.database
        }))

        assert.isTrue(Exit.isFailure(exit))
        const message = Exit.isFailure(exit) ? String(exit.cause) : ""
        assert.match(message, /password authentication failed for user "app_user"/)
      }))

    it.effect("configProviderLayer injects DATABASE_URL", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        // A developer's own DATABASE_URL must not win over the container's.
        const developerEnv = ConfigProvider.layer(
          ConfigProvider.fromEnvRecord({ DATABASE_URL: "postgres://prod.example/app", APP_NAME: "notes" })
        )
        const injected = Postgres.configProviderLayer().pipe(
          Layer.provide(developerEnv),
          Layer.provide(Layer.succeed(Postgres.PostgresEndpoint, endpoint))
        )

        const values = yield* Effect.gen(function*() {
          return {
            url: yield* Config.Redacted("DATABASE_URL"),
            host: yield* Config.String("PGHOST"),
            port: yield* Config.Port("PGPORT"),
            user: yield* Config.String("PGUSER"),
            password: yield* Config.Redacted("PGPASSWORD"),
            database: yield* Config.String("PGDATABASE"),
            appName: yield* Config.String("APP_NAME")
          }
        }).pipe(Effect.provide(injected))

        assert.strictEqual(Redacted.value(values.url), Redacted.value(endpoint.url))
        assert.strictEqual(values.host, endpoint.host)
        assert.strictEqual(values.port, endpoint.port)
        assert.strictEqual(values.user, "app_user")
        assert.strictEqual(Redacted.value(values.password), Redacted.value(password))
        assert.strictEqual(values.database, "app")
        assert.strictEqual(values.appName, "notes", "keys the layer does not set come from the current provider")
      }))

    it.effect("configProviderLayer uses custom keys only", () =>
      Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        const injected = Postgres.configProviderLayer({ url: "APP_DB_URL" }).pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({}))),
          Layer.provide(Layer.succeed(Postgres.PostgresEndpoint, endpoint))
        )

        const url = yield* Config.Redacted("APP_DB_URL").pipe(Effect.provide(injected))
        const host = yield* Config.String("PGHOST").pipe(Effect.option, Effect.provide(injected))

        assert.strictEqual(Redacted.value(url), Redacted.value(endpoint.url))
        assert.isTrue(host._tag === "None", "PGHOST is not among the keys")
      }))
  }
)

layer(TestcontainersLayer, { excludeTestServices: true })("Postgres.start", (it) => {
  it.effect("peer reaches it by alias", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const network = yield* Network.make()
        const postgres = yield* Postgres.start({
          image: postgresImage,
          password,
          database: "shop",
          network,
          aliases: ["db"],
          customize: neverPull
        })
        const client = yield* connect({ connectionString: Redacted.value(postgres.endpoint.url) })
        yield* query(client, "CREATE TABLE orders (item text)")
        yield* query(client, "INSERT INTO orders VALUES ('written by the test process')")
        // The peer runs the same image with another command, so it has psql.
        const peer = yield* Container.make(postgresImage).pipe(
          Container.withNetwork(network),
          Container.withEnv({ PGPASSWORD: Redacted.value(password) }),
          Container.withCommand(["sleep", "infinity"]),
          Container.withPullPolicy("never"),
          Container.start
        )

        const result = yield* peer.exec([
          "psql",
          "-h",
          "db",
          "-U",
          "postgres",
          "-d",
          "shop",
          "-tAc",
          "SELECT item FROM orders"
        ])

        assert.strictEqual(result.exitCode, 0, result.stderr)
        assert.strictEqual(result.stdout.trim(), "written by the test process")
      }))
      yield* expectNothingLeft
    }))

  it.effect("password mismatch fails fast with the server's message", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({
        image: postgresImage,
        password: Redacted.make("the-options-password"),
        // The server is initialized with another password than the options name.
        customize: (spec) =>
          spec.pipe(
            neverPull,
            Container.withEnv({ POSTGRES_PASSWORD: "the-server-password" }),
            Container.withLabels({ [caseLabel]: caseId })
          )
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "PostgresReadinessError")
      if (failure?._tag === "PostgresReadinessError") {
        assert.strictEqual(failure.reason, "rejected")
        // An attempt during the server's last startup step may get 57P03 and
        // be retried, but the rejection itself ends the wait.
        assert.isAtMost(failure.attempts, 3, "a rejected password must end the wait without retries")
        assert.strictEqual(failure.sqlState, "28P01")
        assert.match(failure.message, /password authentication failed for user "postgres"/)
      }
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("image without PostgreSQL fails and leaves nothing", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({
        image: toolboxImage,
        password,
        startupTimeout: "20 seconds",
        customize: (spec) => spec.pipe(neverPull, Container.withLabels({ [caseLabel]: caseId }))
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "ContainerStartError")
      assert.match(failure?.message ?? "", /"postgres": executable file not found/)
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("silent server times out", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      // The port listens, but the server closes every connection without a reply.
      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({
        image: toolboxImage,
        startupTimeout: "6 seconds",
        customize: (spec) =>
          spec.pipe(
            neverPull,
            Container.withCommand(["sh", "-c", "exec nc -ll -p 5432 -e true"]),
            Container.withLabels({ [caseLabel]: caseId })
          )
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "PostgresReadinessError")
      if (failure?._tag === "PostgresReadinessError") {
        assert.strictEqual(failure.reason, "timeout")
        assert.isAbove(failure.attempts, 1, "the probe must retry")
        assert.match(failure.message, /did not respond to SELECT 1 .* within 6s/)
      }
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("short startup timeout fails and leaves nothing", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({
        image: postgresImage,
        startupTimeout: "300 millis",
        customize: (spec) => spec.pipe(neverPull, Container.withLabels({ [caseLabel]: caseId }))
      })))

      const failure = failureOf(exit)
      assert.oneOf(failure?._tag, ["StartupTimeoutError", "PostgresReadinessError"])
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("aliases without a network are rejected", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({ image: postgresImage, aliases: ["db"] })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "InvalidSpecError")
      assert.match(failure?.message ?? "", /postgres options\.aliases/)
    }))

  it.effect("empty user is rejected", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Postgres.start({ image: postgresImage, user: "" })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "InvalidSpecError")
      assert.match(failure?.message ?? "", /postgres options\.user/)
    }))

  it.effect("layerConfig reads options from config", () =>
    Effect.gen(function*() {
      const options = ConfigProvider.layerAdd(
        ConfigProvider.fromUnknown({
          TEST_POSTGRES_IMAGE: postgresImage,
          TEST_POSTGRES_PASSWORD: "from-config",
          TEST_POSTGRES_DATABASE: "configured"
        }),
        { asPrimary: true }
      )
      const configured = Postgres.layerConfig({
        image: Config.String("TEST_POSTGRES_IMAGE"),
        password: Config.Redacted("TEST_POSTGRES_PASSWORD"),
        database: Config.String("TEST_POSTGRES_DATABASE"),
        customize: Config.succeed(neverPull)
      }).pipe(Layer.provide(options))

      const rows = yield* Effect.gen(function*() {
        const endpoint = yield* Postgres.PostgresEndpoint
        assert.strictEqual(Redacted.value(endpoint.password), "from-config")
        const client = yield* connect({ connectionString: Redacted.value(endpoint.url) })
        return yield* query<{ name: string }>(client, "SELECT current_database() AS name")
      }).pipe(Effect.provide(configured), Effect.scoped)

      assert.strictEqual(rows[0]?.name, "configured")
    }))
})

describe("Postgres cleanup", () => {
  layer(TestcontainersLayer, { excludeTestServices: true })((it) => {
    it.effect("leaves no containers or networks", () => expectNothingLeft)
  })
})
