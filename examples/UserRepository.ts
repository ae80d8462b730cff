/**
 * Application code under test: a user repository on PostgreSQL, with no
 * container code in it. It reads its database URL from the
 * `DATABASE_URL` configuration key, which production sets in the
 * environment and the tests set with `Postgres.configProviderLayer`.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient, SqlError, SqlSchema } from "effect/sql"

/**
 * A stored user.
 */
export class User extends Schema.Class<User>("User")({
  id: Schema.Int,
  name: Schema.NonEmptyString,
  email: Schema.NonEmptyString
}) {}

/**
 * A query failed or returned rows that do not decode as users.
 */
export class UserRepositoryError extends Schema.TaggedError<UserRepositoryError>()("UserRepositoryError", {
  cause: Schema.Union([SqlError.SqlError, Schema.Defect()])
}) {}

/**
 * Stores and finds users.
 */
export class UserRepository extends Context.Service<UserRepository, {
  /** Inserts a user and returns it with its id. Fails when the email is taken. */
  create(input: { readonly name: string; readonly email: string }): Effect.Effect<User, UserRepositoryError>
  /** Finds a user by id. */
  findById(id: number): Effect.Effect<Option.Option<User>, UserRepositoryError>
  readonly count: Effect.Effect<number, UserRepositoryError>
}>()("examples/UserRepository") {
  /** The repository over any `SqlClient`. Creates the `users` table when missing. */
  static readonly layerNoDeps: Layer.Layer<UserRepository, SqlError.SqlError, SqlClient.SqlClient> = Layer.effect(
    UserRepository,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        CREATE TABLE IF NOT EXISTS users (
          id serial PRIMARY KEY,
          name text NOT NULL,
          email text NOT NULL UNIQUE
        )
      `

      const insert = SqlSchema.findOne({
        Request: Schema.Struct({ name: Schema.String, email: Schema.String }),
        Result: User,
        execute: (input) => sql`INSERT INTO users ${sql.insert(input)} RETURNING id, name, email`
      })
      const byId = SqlSchema.findOneOption({
        Request: Schema.Int,
        Result: User,
        execute: (id) => sql`SELECT id, name, email FROM users WHERE id = ${id}`
      })
      const countRows = sql<{ readonly count: number }>`SELECT count(*)::int AS count FROM users`

      const wrap = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.mapError(effect, (cause) => new UserRepositoryError({ cause }))

      return UserRepository.of({
        create: Effect.fn("UserRepository.create")((input) => wrap(insert(input))),
        findById: Effect.fn("UserRepository.findById")((id) => wrap(byId(id))),
        count: wrap(Effect.map(countRows, (rows) => rows[0]?.count ?? 0))
      })
    })
  )

  /** The repository on PostgreSQL at `DATABASE_URL`, read through the current `ConfigProvider`. */
  static readonly layer: Layer.Layer<UserRepository, SqlError.SqlError | Config.ConfigError> = this.layerNoDeps.pipe(
    Layer.provide(PgClient.layerConfig({ url: Config.Redacted("DATABASE_URL") }))
  )
}
