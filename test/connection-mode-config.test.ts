import { assert, describe, it } from "@effect/vitest"
import { Config, Effect, Option } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ConnectionMode from "../src/services/ConnectionMode.ts"
import * as DockerEngine from "../src/services/DockerEngine.ts"
import * as TestcontainersConfig from "../src/services/TestcontainersConfig.ts"

// A temporary home directory, removed when the test's scope closes.
const temporaryHome = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "connection-mode-config-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

const withProperties = (contents: string | Uint8Array) =>
  Effect.map(temporaryHome, (home) => {
    const path = TestcontainersConfig.defaultPropertiesPath(home)
    Fs.writeFileSync(path, contents)
    return path
  })

const readMode = (env: Record<string, string>, propertiesPath: string) =>
  ConnectionMode.modeConfig.pipe(Effect.provide(TestcontainersConfig.layer({ env, propertiesPath })))

const readModeError = (env: Record<string, string>, propertiesPath: string) =>
  readMode(env, propertiesPath).pipe(Effect.flip, Effect.map((error) => error.message))

const missingFile = "/nonexistent/.testcontainers.properties"
const allowed = "expected one of bridge_ip, gateway_ip, docker_host"

describe("TestcontainersConfig", () => {
  it.effect("reads every mode from the variable", () =>
    Effect.gen(function*() {
      for (const mode of ["bridge_ip", "gateway_ip", "docker_host"] as const) {
        const read = yield* readMode({ TESTCONTAINERS_CONNECTION_MODE: mode }, missingFile)
        assert.deepStrictEqual(read, Option.some(mode))
      }
    }))

  it.effect("reads every mode from the file", () =>
    Effect.gen(function*() {
      for (const mode of ["bridge_ip", "gateway_ip", "docker_host"] as const) {
        const path = yield* withProperties(`# test\nconnection.mode = ${mode}\n`)
        const read = yield* readMode({}, path)
        assert.deepStrictEqual(read, Option.some(mode))
      }
    }).pipe(Effect.scoped))

  it.effect("lets the variable win over the file", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("connection.mode=gateway_ip\n")
      const read = yield* readMode({ TESTCONTAINERS_CONNECTION_MODE: "docker_host" }, path)
      assert.deepStrictEqual(read, Option.some("docker_host"))
    }).pipe(Effect.scoped))

  it.effect("treats a missing file as unset", () =>
    Effect.gen(function*() {
      const read = yield* readMode({}, missingFile)
      assert.deepStrictEqual(read, Option.none())
    }))

  it.effect("ignores surrounding whitespace", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("connection.mode = bridge_ip   \n")
      const read = yield* readMode({}, path)
      assert.deepStrictEqual(read, Option.some("bridge_ip"))
    }).pipe(Effect.scoped))

  it.effect("maps docker.host to DOCKER_HOST", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("docker.host=tcp://127.0.0.1:2375\n")
      const options = yield* DockerEngine.config.pipe(
        Effect.provide(TestcontainersConfig.layer({ env: {}, propertiesPath: path }))
      )
      assert.strictEqual(options.dockerHost, "tcp://127.0.0.1:2375")
    }).pipe(Effect.scoped))

  it.effect("reads the host override from the file", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("host.override: engine.example\n")
      const read = yield* ConnectionMode.hostOverrideConfig.pipe(
        Effect.provide(TestcontainersConfig.layer({ env: {}, propertiesPath: path }))
      )
      assert.deepStrictEqual(read, Option.some("engine.example"))
    }).pipe(Effect.scoped))
})

describe("invalid connection modes", () => {
  const invalid = [
    { value: "bridge", hint: "; did you mean bridge_ip?" },
    { value: "", hint: "" },
    { value: "Docker_Host", hint: "; did you mean docker_host?" }
  ]

  for (const { hint, value } of invalid) {
    it.effect(`rejects ${JSON.stringify(value)} from the variable`, () =>
      Effect.gen(function*() {
        const message = yield* readModeError({ TESTCONTAINERS_CONNECTION_MODE: value }, missingFile)
        assert.include(
          message,
          `Invalid value ${
            JSON.stringify(value)
          } of environment variable TESTCONTAINERS_CONNECTION_MODE: ${allowed}${hint}`
        )
        assert.include(message, `at ["TESTCONTAINERS_CONNECTION_MODE"]`)
      }))

    it.effect(`rejects ${JSON.stringify(value)} from the file`, () =>
      Effect.gen(function*() {
        const path = yield* withProperties(`# settings\n\nconnection.mode=${value}\n`)
        const message = yield* readModeError({}, path)
        assert.include(message, `Invalid value ${JSON.stringify(value)} of connection.mode on line 3 of ${path}`)
        assert.include(message, allowed)
      }).pipe(Effect.scoped))
  }

  it.effect("rejects an empty variable over a valid file", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("connection.mode=bridge_ip\n")
      const message = yield* readModeError({ TESTCONTAINERS_CONNECTION_MODE: "" }, path)
      assert.include(message, `Invalid value "" of environment variable TESTCONTAINERS_CONNECTION_MODE`)
    }).pipe(Effect.scoped))

  it.effect("fails the layer with a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        ConnectionMode.config.pipe(
          Effect.provide(TestcontainersConfig.layer({ env: { TESTCONTAINERS_CONNECTION_MODE: "bridge" } }))
        )
      )
      assert.instanceOf(error, Config.ConfigError)
    }))
})

describe("broken properties files", () => {
  it.effect("names the file and line of a bad escape", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("a=1\nconnection.mode=\\u12\n")
      const message = yield* readModeError({}, path)
      assert.include(message, `Invalid properties file ${path}, line 2: malformed escape`)
    }).pipe(Effect.scoped))

  it.effect("names the file and line of invalid UTF-8", () =>
    Effect.gen(function*() {
      const bytes = Uint8Array.from([...new TextEncoder().encode("# caf"), 0xe9, 0x0a])
      const path = yield* withProperties(bytes)
      const message = yield* readModeError({}, path)
      assert.include(message, `Invalid properties file ${path}, line 1: the text is not valid UTF-8`)
    }).pipe(Effect.scoped))

  it.effect("names an unreadable file", () =>
    Effect.gen(function*() {
      const home = yield* temporaryHome
      // A directory in place of the file cannot be read, even by root.
      const path = TestcontainersConfig.defaultPropertiesPath(home)
      Fs.mkdirSync(path)
      const message = yield* readModeError({}, path)
      assert.include(message, `Cannot read the properties file ${path}: EISDIR`)
    }).pipe(Effect.scoped))

  it.effect("is not read when the variable is set", () =>
    Effect.gen(function*() {
      const path = yield* withProperties("connection.mode=\\uZZZZ\n")
      const read = yield* readMode({ TESTCONTAINERS_CONNECTION_MODE: "gateway_ip" }, path)
      assert.deepStrictEqual(read, Option.some("gateway_ip"))
    }).pipe(Effect.scoped))
})
