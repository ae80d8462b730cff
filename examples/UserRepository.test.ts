/**
 * Tests the repository against a real PostgreSQL server. One container
 * serves every test of the block: `layer(...)` builds the Layer once and
 * releases it after the last test.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { SqlError } from "effect/sql"
import { Testcontainers } from "../src/index.ts"
import * as Postgres from "../src/modules/Postgres.ts"
import { neverPull, postgresImage } from "../test/modules/fixtures.ts"
import { UserRepository } from "./UserRepository.ts"

// The repository reads DATABASE_URL through Config, and the provider layer
// supplies the container's URL under that key.
const TestLive = UserRepository.layer.pipe(
  Layer.provide(Postgres.configProviderLayer({ url: "DATABASE_URL" })),
  Layer.provide(Postgres.layer({ image: postgresImage, database: "users", customize: neverPull })),
  Layer.provide(Testcontainers.layer)
)

// Starting containers takes real time, so the block runs on the live clock
// instead of the TestClock.
layer(TestLive, { excludeTestServices: true })("UserRepository on PostgreSQL", (it) => {
  it.effect("creates and finds a user", () =>
    Effect.gen(function*() {
      const repository = yield* UserRepository

      const created = yield* repository.create({ name: "Ada", email: "ada@example.com" })
      const found = yield* repository.findById(created.id)

      assert.deepStrictEqual(Option.map(found, (user) => user.name), Option.some("Ada"))
    }))

  it.effect("keeps rows between tests of the block", () =>
    Effect.gen(function*() {
      const repository = yield* UserRepository

      yield* repository.create({ name: "Grace", email: "grace@example.com" })

      assert.strictEqual(yield* repository.count, 2)
    }))

  it.effect("rejects a duplicate email", () =>
    Effect.gen(function*() {
      const repository = yield* UserRepository

      const result = yield* Effect.result(repository.create({ name: "Ada again", email: "ada@example.com" }))

      const cause = result._tag === "Failure" ? result.failure.cause : undefined
      assert.isTrue(SqlError.isSqlError(cause), "the repository wraps the SqlError")
      if (SqlError.isSqlError(cause)) {
        assert.strictEqual(cause.reason._tag, "UniqueViolation")
      }
    }))

  it.effect("misses an unknown id", () =>
    Effect.gen(function*() {
      const repository = yield* UserRepository

      assert.isTrue(Option.isNone(yield* repository.findById(999_999)))
    }))
})
