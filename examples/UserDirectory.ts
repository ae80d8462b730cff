/**
 * Application code under test that needs two servers: user lookups read
 * through a Redis cache in front of the PostgreSQL repository. The Redis URL
 * comes from the `REDIS_URL` configuration key.
 */
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Redis } from "ioredis"
import { User, UserRepository, type UserRepositoryError } from "./UserRepository.ts"

/**
 * A Redis command failed, or a cached entry does not decode as a user.
 */
export class UserCacheError extends Schema.TaggedError<UserCacheError>()("UserCacheError", {
  cause: Schema.Defect()
}) {}

/**
 * An ioredis client connected to `REDIS_URL`, closed with its scope.
 */
export class RedisClient extends Context.Service<RedisClient, Redis>()("examples/RedisClient") {
  static readonly layer: Layer.Layer<RedisClient, Config.ConfigError | UserCacheError> = Layer.effect(
    RedisClient,
    Effect.gen(function*() {
      const url = yield* Config.Redacted("REDIS_URL")
      return yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const client = new Redis(Redacted.value(url), { lazyConnect: true })
            await client.connect()
            return client
          },
          catch: (cause) => new UserCacheError({ cause })
        }),
        (client) => Effect.promise(() => client.quit().catch(() => "closed"))
      )
    })
  )
}

/** The cache key of a user. */
export const cacheKey = (id: number): string => `user:${id}`

const UserJson = Schema.fromJsonString(User)

/**
 * Finds users, from the cache when it has them.
 */
export class UserDirectory extends Context.Service<UserDirectory, {
  /** Returns the user from the cache, or from the repository and stores it in the cache for 60 seconds. */
  lookup(id: number): Effect.Effect<Option.Option<User>, UserRepositoryError | UserCacheError>
}>()("examples/UserDirectory") {
  static readonly layerNoDeps: Layer.Layer<UserDirectory, never, UserRepository | RedisClient> = Layer.effect(
    UserDirectory,
    Effect.gen(function*() {
      const repository = yield* UserRepository
      const redis = yield* RedisClient
      const redisCall = <A>(run: () => Promise<A>) =>
        Effect.tryPromise({ try: run, catch: (cause) => new UserCacheError({ cause }) })

      const lookup = Effect.fn("UserDirectory.lookup")(function*(id: number) {
        const cached = yield* redisCall(() => redis.get(cacheKey(id)))
        if (cached !== null) {
          const user = yield* Schema.decodeEffect(UserJson)(cached).pipe(
            Effect.mapError((cause) => new UserCacheError({ cause }))
          )
          return Option.some(user)
        }
        const found = yield* repository.findById(id)
        if (Option.isSome(found)) {
          const json = yield* Schema.encodeEffect(UserJson)(found.value).pipe(
            Effect.mapError((cause) => new UserCacheError({ cause }))
          )
          yield* redisCall(() => redis.set(cacheKey(id), json, "EX", 60))
        }
        return found
      })

      return UserDirectory.of({ lookup })
    })
  )

  /** The directory over the repository at `DATABASE_URL` and the cache at `REDIS_URL`. */
  static readonly layer = this.layerNoDeps.pipe(
    Layer.provide(Layer.mergeAll(UserRepository.layer, RedisClient.layer))
  )
}
