import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Postgres from "../../src/modules/Postgres.ts"
import * as Redis from "../../src/modules/Redis.ts"

describe("module URLs", () => {
  it("Postgres URL encodes credentials", () => {
    const url = Postgres.makeUrl({
      host: "localhost",
      port: 32768,
      user: "app user",
      password: Redacted.make("p@ss/word:1"),
      database: "my db"
    })

    assert.strictEqual(Redacted.value(url), "postgres://app%20user:p%40ss%2Fword%3A1@localhost:32768/my%20db")
    assert.notInclude(String(url), "p@ss")
  })

  it("Postgres URL brackets IPv6 hosts", () => {
    const url = Postgres.makeUrl({
      host: "fd00::2",
      port: 5432,
      user: "postgres",
      password: Redacted.make("x"),
      database: "postgres"
    })

    assert.strictEqual(Redacted.value(url), "postgres://postgres:x@[fd00::2]:5432/postgres")
    assert.strictEqual(new URL(Redacted.value(url)).hostname, "[fd00::2]")
  })

  it("Redis URL without credentials", () => {
    const url = Redis.makeUrl({ host: "172.18.0.2", port: 6379 })

    assert.strictEqual(Redacted.value(url), "redis://172.18.0.2:6379/0")
  })

  it("Redis URL with password only", () => {
    const url = Redis.makeUrl({ host: "localhost", port: 6380, password: Redacted.make("a b"), database: 3 })

    assert.strictEqual(Redacted.value(url), "redis://:a%20b@localhost:6380/3")
  })

  it("Redis URL with user and password", () => {
    const url = Redis.makeUrl({ host: "::1", port: 6379, user: "app", password: Redacted.make("secret") })

    assert.strictEqual(Redacted.value(url), "redis://app:secret@[::1]:6379/0")
  })
})
