/**
 * Tests a service that needs PostgreSQL and Redis. Both containers start
 * in parallel, and two provider layers supply `DATABASE_URL` and
 * `REDIS_URL`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { Redis as IORedis } from "ioredis"
import { Testcontainers } from "../src/index.ts"
import * as Postgres from "../src/modules/Postgres.ts"
import * as Redis from "../src/modules/Redis.ts"
import { neverPull, postgresImage, redisImage } from "../test/modules/fixtures.ts"
import { cacheKey, UserDirectory } from "./UserDirectory.ts"
import { UserRepository } from "./UserRepository.ts"

const Containers = Layer.mergeAll(
  Postgres.layer({ image: postgresImage, customize: neverPull }),
  Redis.layer({ image: redisImage, customize: neverPull })
).pipe(Layer.provide(Testcontainers.layer))

// Provider layers set the one current ConfigProvider, so they are chained
// with Layer.provide: merged, one would replace the other.
const ContainerConfig = Redis.configProviderLayer({ url: "REDIS_URL" }).pipe(
  Layer.provide(Postgres.configProviderLayer({ url: "DATABASE_URL" }))
)

const TestLive = Layer.mergeAll(UserDirectory.layer, UserRepository.layer).pipe(
  Layer.provide(ContainerConfig),
  Layer.provideMerge(Containers)
)

/** Reads a key with a client of its own, to look at the cache from outside the service. */
const readCache = (key: string) =>
  Effect.gen(function*() {
    const endpoint = yield* Redis.RedisEndpoint
    return yield* Effect.acquireUseRelease(
      Effect.sync(() => new IORedis(Redacted.value(endpoint.url), { lazyConnect: true })),
      (client) => Effect.tryPromise(() => client.connect().then(() => client.get(key))),
      (client) => Effect.promise(() => client.quit().catch(() => "closed"))
    )
  })

layer(TestLive, { excludeTestServices: true })("UserDirectory on PostgreSQL and Redis", (it) => {
  it.effect("caches a user read from the repository", () =>
    Effect.gen(function*() {
      const repository = yield* UserRepository
      const directory = yield* UserDirectory
      const created = yield* repository.create({ name: "Edsger", email: "edsger@example.com" })

      assert.isNull(yield* readCache(cacheKey(created.id)), "nothing is cached before the first lookup")
      const found = yield* directory.lookup(created.id)
      const cached = yield* readCache(cacheKey(created.id))

      assert.deepStrictEqual(Option.map(found, (user) => user.email), Option.some("edsger@example.com"))
      assert.isNotNull(cached)
      assert.include(cached ?? "", "\"name\":\"Edsger\"")
    }))

  it.effect("answers from the cache", () =>
    Effect.gen(function*() {
      const endpoint = yield* Redis.RedisEndpoint
      const directory = yield* UserDirectory
      // An entry the database does not have can only come from the cache.
      yield* Effect.acquireUseRelease(
        Effect.sync(() => new IORedis(Redacted.value(endpoint.url), { lazyConnect: true })),
        (client) =>
          Effect.tryPromise(() =>
            client.connect().then(() =>
              client.set(cacheKey(4242), JSON.stringify({ id: 4242, name: "Cached", email: "cached@example.com" }))
            )
          ),
        (client) => Effect.promise(() => client.quit().catch(() => "closed"))
      )

      const found = yield* directory.lookup(4242)

      assert.deepStrictEqual(Option.map(found, (user) => user.name), Option.some("Cached"))
    }))

  it.effect("misses an unknown user without caching", () =>
    Effect.gen(function*() {
      const directory = yield* UserDirectory

      const found = yield* directory.lookup(777)

      assert.isTrue(Option.isNone(found))
      assert.isNull(yield* readCache(cacheKey(777)))
    }))
})
