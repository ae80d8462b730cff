/**
 * Compose file checks and CLI command lines, without an engine or a CLI.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll } from "vitest"
import {
  type ComposeCli,
  displayCommand,
  downArgs,
  type ProjectInvocation,
  pullArgs,
  upArgs
} from "../src/internal/composeCli.ts"
import type { ComposeFileError } from "../src/internal/composeErrors.ts"
import { readComposeServices } from "../src/internal/composeFile.ts"

const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "etc-compose-file-"))
afterAll(() => Fs.rmSync(directory, { recursive: true, force: true }))

let fileCount = 0
/** Writes a compose file into a fresh temporary directory and returns its path. */
const write = (text: string): string => {
  fileCount += 1
  const file = Path.join(directory, `compose-${fileCount}.yml`)
  Fs.writeFileSync(file, text)
  return file
}

const failure = (files: ReadonlyArray<string>, profiles: ReadonlyArray<string> = []) =>
  Effect.flip(readComposeServices(files, profiles)) as Effect.Effect<ComposeFileError>

describe("readComposeServices", () => {
  it.effect("lists services in definition order", () =>
    Effect.gen(function*() {
      const file = write("services:\n  web:\n    image: a\n  db:\n    image: b\n  cache:\n    image: c\n")
      const services = yield* readComposeServices([file], [])
      assert.deepStrictEqual(services, { enabled: ["web", "db", "cache"], disabled: [] })
    }))

  it.effect("merges service names of several files", () =>
    Effect.gen(function*() {
      const base = write("services:\n  web:\n    image: a\n  db:\n    image: b\n")
      const override = write("services:\n  db:\n    environment:\n      A: 1\n  worker:\n    image: c\n")
      const services = yield* readComposeServices([base, override], [])
      assert.deepStrictEqual(services.enabled, ["web", "db", "worker"])
    }))

  it.effect("merge keys and anchors", () =>
    Effect.gen(function*() {
      const file = write(
        "x-base: &base\n  image: a\n  restart: always\nservices:\n  web:\n    <<: *base\n  worker:\n    <<: *base\n    command: [run]\n"
      )
      const services = yield* readComposeServices([file], [])
      assert.deepStrictEqual(services.enabled, ["web", "worker"])
    }))

  it.effect("profiles enable services", () =>
    Effect.gen(function*() {
      const file = write(
        "services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [debug]\n  tools:\n    image: c\n    profiles: [tools, debug]\n"
      )
      assert.deepStrictEqual(yield* readComposeServices([file], []), { enabled: ["web"], disabled: ["debug", "tools"] })
      assert.deepStrictEqual((yield* readComposeServices([file], ["tools"])).enabled, ["web", "tools"])
      assert.deepStrictEqual((yield* readComposeServices([file], ["debug"])).enabled, ["web", "debug", "tools"])
      assert.deepStrictEqual((yield* readComposeServices([file], ["*"])).enabled, ["web", "debug", "tools"])
    }))

  it.effect("later file sets the profiles", () =>
    Effect.gen(function*() {
      const base = write("services:\n  web:\n    image: a\n    profiles: [web]\n")
      const override = write("services:\n  web:\n    profiles: [other]\n")
      const untouched = write("services:\n  web:\n    environment:\n      A: 1\n")
      assert.deepStrictEqual((yield* readComposeServices([base, override], ["web"])).enabled, [])
      assert.deepStrictEqual((yield* readComposeServices([base, untouched], ["web"])).enabled, ["web"])
    }))

  it.effect("YAML syntax error has line and column", () =>
    Effect.gen(function*() {
      const file = write("services:\n  web:\n    image: a\n    command: [\"sleep\"\n    ports: []\n")
      const error = yield* failure([file])
      assert.strictEqual(error.file, file)
      assert.strictEqual(error.problem, "Invalid")
      assert.strictEqual(error.line, 5)
      assert.strictEqual(error.column, 5)
      assert.include(error.message, `${file} is invalid at line 5, column 5`)
    }))

  it.effect("duplicate service is a YAML error", () =>
    Effect.gen(function*() {
      const error = yield* failure([write("services:\n  web:\n    image: a\n  web:\n    image: b\n")])
      assert.strictEqual(error.line, 4)
      assert.include(error.reason, "unique")
    }))

  it.effect("shape errors point at the node", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, number | undefined, string]> = [
        ["", undefined, "empty"],
        ["- web\n- db\n", 1, "top level must be a mapping"],
        ["version: \"3\"\nservices:\n  - web\n", 3, "services must be a mapping"],
        ["services:\n  web: nginx\n", 2, "service \"web\" must be a mapping"],
        ["services:\n  web:\n    image: a\n    profiles: debug\n", 2, "profiles of service \"web\""]
      ]
      for (const [text, line, reason] of cases) {
        const error = yield* failure([write(text)])
        assert.strictEqual(error.problem, "Invalid", JSON.stringify(text))
        assert.strictEqual(error.line, line, JSON.stringify(text))
        assert.include(error.reason, reason)
      }
    }))

  it.effect("no service in any file", () =>
    Effect.gen(function*() {
      const first = write("volumes:\n  data: {}\n")
      const second = write("networks:\n  back: {}\n")
      const error = yield* failure([first, second])
      assert.strictEqual(error.problem, "Invalid")
      assert.include(error.file, first)
      assert.include(error.file, second)
      assert.include(error.reason, "no service")
    }))

  it.effect("missing file and directory", () =>
    Effect.gen(function*() {
      const good = write("services:\n  web:\n    image: a\n")
      const missing = Path.join(directory, "missing.yml")
      const notFound = yield* failure([good, missing])
      assert.strictEqual(notFound.problem, "NotFound")
      assert.strictEqual(notFound.file, missing)
      assert.include(notFound.message, missing)

      const isDirectory = yield* failure([directory])
      assert.strictEqual(isDirectory.problem, "Unreadable")
      assert.include(isDirectory.reason, "directory")
    }))
})

const v1: ComposeCli = { command: ["docker-compose"], version: "1.29.2", major: 1 }
const v2: ComposeCli = { command: ["docker", "compose"], version: "2.29.1", major: 2 }

const invocation = (cli: ComposeCli, extra: Partial<ProjectInvocation> = {}): ProjectInvocation => ({
  cli,
  project: "etc-1",
  files: ["/app/compose.yml", "/app/compose.test.yml"],
  projectDirectory: undefined,
  profiles: [],
  env: {},
  ...extra
})

describe("Compose command lines", () => {
  it("up with project, files, directory and profiles", () => {
    const argv = upArgs(invocation(v2, { projectDirectory: "/app", profiles: ["debug", "tools"] }), {
      build: undefined,
      pull: undefined
    })
    assert.deepStrictEqual(argv, [
      "docker",
      "compose",
      "-p",
      "etc-1",
      "-f",
      "/app/compose.yml",
      "-f",
      "/app/compose.test.yml",
      "--project-directory",
      "/app",
      "--profile",
      "debug",
      "--profile",
      "tools",
      "up",
      "-d"
    ])
  })

  it("build and pull flags per CLI version", () => {
    const tail = (argv: ReadonlyArray<string>) => argv.slice(argv.indexOf("up"))
    assert.deepStrictEqual(tail(upArgs(invocation(v2), { build: true, pull: "always" })), [
      "up",
      "-d",
      "--build",
      "--pull",
      "always"
    ])
    assert.deepStrictEqual(tail(upArgs(invocation(v2), { build: false, pull: "never" })), [
      "up",
      "-d",
      "--no-build",
      "--pull",
      "never"
    ])
    assert.deepStrictEqual(tail(upArgs(invocation(v1), { build: true, pull: "always" })), ["up", "-d", "--build"])
    assert.deepStrictEqual(pullArgs(invocation(v1)).slice(-1), ["pull"])
  })

  it("down removes volumes and orphans", () => {
    const argv = downArgs(invocation(v1), 5)
    assert.deepStrictEqual(argv.slice(0, 3), ["docker-compose", "-p", "etc-1"])
    assert.deepStrictEqual(argv.slice(argv.indexOf("down")), ["down", "-v", "--remove-orphans", "-t", "5"])
  })

  it("displayed commands quote spaces", () => {
    assert.strictEqual(
      displayCommand(["docker-compose", "-f", "/a b/c.yml", "up"]),
      "docker-compose -f '/a b/c.yml' up"
    )
    assert.strictEqual(displayCommand(["sh", "-c", "it's"]), "sh -c 'it'\\''s'")
  })
})
