import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"
import * as DockerEngine from "../src/services/DockerEngine.ts"

describe("DockerEngine", () => {
  it.live("connects to the default socket", () =>
    Effect.gen(function*() {
      const engine = yield* DockerEngine.make()
      assert.strictEqual(engine.address._tag, "Socket")
      assert.strictEqual(engine.hostName, "localhost")
      assert.match(engine.info.apiVersion, /^1\.\d+$/)
      const ping = yield* engine.call("ping", "engine", (client) => client.ping())
      assert.strictEqual(String(ping), "OK")
    }))

  it.live("unreachable socket names the address", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(DockerEngine.make({ dockerHost: "unix:///tmp/no-engine-here.sock" }))
      assert.strictEqual(error._tag, "EngineUnreachableError")
      assert.deepStrictEqual(error.attempts.map((attempt) => attempt.address), ["unix:///tmp/no-engine-here.sock"])
      assert.strictEqual(error.attempts[0]?.source, "DOCKER_HOST")
      assert.include(error.message, "no such socket file")
      assert.include(error.message, "set DOCKER_HOST")
    }))

  it.live("closed TCP port names the address", () =>
    Effect.gen(function*() {
      // Bind and release a loopback port, so nothing listens on it.
      const port = yield* Effect.callback<number>((resume) => {
        const server = Net.createServer()
        server.listen(0, "127.0.0.1", () => {
          const address = server.address() as Net.AddressInfo
          server.close(() => resume(Effect.succeed(address.port)))
        })
      })
      const error = yield* Effect.flip(DockerEngine.make({ dockerHost: `tcp://127.0.0.1:${port}` }))
      assert.strictEqual(error.attempts[0]?.address, `tcp://127.0.0.1:${port}`)
      assert.match(error.attempts[0]?.reason ?? "", /ECONNREFUSED|refused/i)
    }))

  it.live("invalid DOCKER_HOST names the value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(DockerEngine.make({ dockerHost: "docker.example:2375" }))
      assert.include(error.message, "docker.example:2375")
      assert.include(error.message, "tcp://host:port")
    }))

  it.live("engine errors carry the engine's message", () =>
    Effect.gen(function*() {
      const engine = yield* DockerEngine.make()
      const error = yield* Effect.flip(
        engine.call("container inspect", "no-such-container", (client) =>
          client.getContainer("no-such-container").inspect())
      )
      assert.strictEqual(error.statusCode, 404)
      assert.include(error.engineMessage, "no-such-container")
      assert.include(error.message, "container inspect")
    }))
})
