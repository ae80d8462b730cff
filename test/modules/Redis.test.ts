import { assert, describe, layer } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { Redis as IORedis } from "ioredis"
import * as Container from "../../src/Container.ts"
import { layer as TestcontainersLayer } from "../../src/layers/Testcontainers.ts"
import * as Redis from "../../src/modules/Redis.ts"
import * as Network from "../../src/Network.ts"
import {
  caseLabel,
  countCaseContainers,
  expectNothingLeft,
  failureOf,
  neverPull,
  newCaseId,
  redisImage,
  toolboxImage
} from "./fixtures.ts"

/**
 * Opens an ioredis client for the scope. It fails instead of reconnecting
 * forever. Without the ready check, a client without a password connects and
 * gets `NOAUTH` on its first command.
 */
const connect = (url: Redacted.Redacted<string>, options?: { readonly readyCheck?: boolean }) =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const client = new IORedis(Redacted.value(url), {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: options?.readyCheck ?? true
      })
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.quit().catch(() => "closed"))
  )

const call = <A>(run: () => Promise<A>) => Effect.tryPromise(run)

const RedisLayer = Redis.layer({ image: redisImage, database: 2, customize: neverPull })

layer(RedisLayer.pipe(Layer.provideMerge(TestcontainersLayer)), { excludeTestServices: true })("Redis.layer", (it) => {
  it.effect("writes and reads back with ioredis", () =>
    Effect.gen(function*() {
      const endpoint = yield* Redis.RedisEndpoint
      const client = yield* connect(endpoint.url)

      yield* call(() => client.set("greeting", "hello"))
      yield* call(() => client.rpush("queue", "a", "b", "c"))
      const greeting = yield* call(() => client.get("greeting"))
      const queue = yield* call(() => client.lrange("queue", 0, -1))

      assert.strictEqual(greeting, "hello")
      assert.deepStrictEqual(queue, ["a", "b", "c"])
    }))

  it.effect("URL selects the database index", () =>
    Effect.gen(function*() {
      const endpoint = yield* Redis.RedisEndpoint
      const client = yield* connect(endpoint.url)
      const other = yield* connect(Redis.makeUrl({ host: endpoint.host, port: endpoint.port, database: 0 }))

      const inDatabase2 = yield* call(() => client.get("greeting"))
      const inDatabase0 = yield* call(() => other.get("greeting"))

      assert.strictEqual(endpoint.database, 2)
      assert.strictEqual(Redacted.value(endpoint.url), `redis://${endpoint.host}:${endpoint.port}/2`)
      assert.strictEqual(inDatabase2, "hello", "the value written by the previous test")
      assert.isNull(inDatabase0)
    }))

  it.effect("endpoint uses the mapped port", () =>
    Effect.gen(function*() {
      const endpoint = yield* Redis.RedisEndpoint
      const { container } = yield* Redis.RedisContainer

      assert.strictEqual(endpoint.port, yield* container.mappedPort(6379))
      assert.strictEqual(endpoint.host, container.host)
      assert.isUndefined(endpoint.password)
    }))

  it.effect("configProviderLayer injects REDIS_URL", () =>
    Effect.gen(function*() {
      const endpoint = yield* Redis.RedisEndpoint
      const injected = Redis.configProviderLayer().pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ REDIS_URL: "redis://prod.example:6379" }))),
        Layer.provide(Layer.succeed(Redis.RedisEndpoint, endpoint))
      )

      const values = yield* Effect.gen(function*() {
        return {
          url: yield* Config.String("REDIS_URL"),
          host: yield* Config.String("REDIS_HOST"),
          port: yield* Config.Port("REDIS_PORT"),
          password: yield* Config.String("REDIS_PASSWORD").pipe(Config.option)
        }
      }).pipe(Effect.provide(injected))

      assert.strictEqual(values.url, Redacted.value(endpoint.url))
      assert.strictEqual(values.host, endpoint.host)
      assert.strictEqual(values.port, endpoint.port)
      assert.isTrue(values.password._tag === "None", "no password is exposed when the options set none")
    }))
})

layer(TestcontainersLayer, { excludeTestServices: true })("Redis.start", (it) => {
  it.effect("peer reaches it by alias", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const network = yield* Network.make()
        const redis = yield* Redis.start({ image: redisImage, network, aliases: ["cache"], customize: neverPull })
        const client = yield* connect(redis.endpoint.url)
        yield* call(() => client.set("origin", "test process"))
        // The peer runs the same image with another command, so it has redis-cli.
        const peer = yield* Container.make(redisImage).pipe(
          Container.withNetwork(network),
          Container.withCommand(["sleep", "infinity"]),
          Container.withPullPolicy("never"),
          Container.start
        )

        const read = yield* peer.exec(["redis-cli", "-h", "cache", "GET", "origin"])
        const ping = yield* peer.exec(["redis-cli", "-h", "cache", "PING"])

        assert.strictEqual(read.exitCode, 0, read.stderr)
        assert.strictEqual(read.stdout.trim(), "test process")
        assert.strictEqual(ping.stdout.trim(), "PONG")
      }))
      yield* expectNothingLeft
    }))

  it.effect("password is required by the server", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const password = Redacted.make("pa ss:word@1")
        const redis = yield* Redis.start({ image: redisImage, password, customize: neverPull })
        const client = yield* connect(redis.endpoint.url)
        const anonymous = yield* connect(
          Redis.makeUrl({ host: redis.endpoint.host, port: redis.endpoint.port }),
          { readyCheck: false }
        )

        yield* call(() => client.set("secret", "kept"))
        const value = yield* call(() => client.get("secret"))
        const denied = yield* Effect.exit(call(() => anonymous.get("secret")))

        assert.strictEqual(value, "kept")
        assert.isTrue(Exit.isFailure(denied))
        assert.match(String(failureOf(denied)?.cause), /NOAUTH/)
        assert.notInclude(String(redis.endpoint.url), "pa ss", "the URL must print redacted")
      }))
    }))

  it.effect("ACL user authenticates by name", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const redis = yield* Redis.start({
          image: redisImage,
          user: "app",
          password: Redacted.make("app-password"),
          customize: neverPull
        })
        const client = yield* connect(redis.endpoint.url)

        const whoami = yield* call(() => client.call("ACL", "WHOAMI"))
        const url = new URL(Redacted.value(redis.endpoint.url))

        assert.strictEqual(whoami, "app")
        assert.strictEqual(url.username, "app")
        assert.strictEqual(url.password, "app-password")
      }))
    }))

  it.effect("password mismatch fails fast with the server's reply", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      const exit = yield* Effect.exit(Effect.scoped(Redis.start({
        image: redisImage,
        password: Redacted.make("the-options-password"),
        customize: (spec) =>
          spec.pipe(
            neverPull,
            Container.withCommand(["redis-server", "--requirepass", "the-server-password"]),
            Container.withLabels({ [caseLabel]: caseId })
          )
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "RedisReadinessError")
      if (failure?._tag === "RedisReadinessError") {
        assert.strictEqual(failure.reason, "rejected")
        assert.strictEqual(failure.attempts, 1, "a rejected password must end the wait without a retry")
        assert.match(failure.lastError, /^WRONGPASS/)
      }
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("image without Redis fails and leaves nothing", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      const exit = yield* Effect.exit(Effect.scoped(Redis.start({
        image: toolboxImage,
        customize: (spec) => spec.pipe(neverPull, Container.withLabels({ [caseLabel]: caseId }))
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "ContainerStartError")
      assert.match(failure?.message ?? "", /"redis-server": executable file not found/)
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("silent server times out", () =>
    Effect.gen(function*() {
      const caseId = newCaseId()

      // The port listens, but the server closes every connection without a reply.
      const exit = yield* Effect.exit(Effect.scoped(Redis.start({
        image: toolboxImage,
        startupTimeout: "6 seconds",
        customize: (spec) =>
          spec.pipe(
            neverPull,
            Container.withCommand(["sh", "-c", "exec nc -ll -p 6379 -e true"]),
            Container.withLabels({ [caseLabel]: caseId })
          )
      })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "RedisReadinessError")
      if (failure?._tag === "RedisReadinessError") {
        assert.strictEqual(failure.reason, "timeout")
        assert.isAbove(failure.attempts, 1, "the probe must retry")
        assert.match(failure.message, /did not respond to PING within 6s/)
      }
      assert.strictEqual(yield* countCaseContainers(caseId), 0, "the container must be removed")
    }))

  it.effect("user without password is rejected", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Redis.start({ image: redisImage, user: "app" })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "InvalidSpecError")
      assert.match(failure?.message ?? "", /redis options\.password/)
    }))

  it.effect("negative database index is rejected", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Redis.start({ image: redisImage, database: -1 })))

      const failure = failureOf(exit)
      assert.strictEqual(failure?._tag, "InvalidSpecError")
      assert.match(failure?.message ?? "", /redis options\.database/)
    }))
})

describe("Redis cleanup", () => {
  layer(TestcontainersLayer, { excludeTestServices: true })((it) => {
    it.effect("leaves no containers or networks", () => expectNothingLeft)
  })
})
