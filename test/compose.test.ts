/**
 * Compose projects on the real engine, run by the Compose CLI found on this
 * machine (scripts/compose.sh installs one). After each test, nothing may
 * carry the test's project label.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Schedule } from "effect"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import * as Compose from "../src/Compose.ts"
import { Wait } from "../src/index.ts"
import { DockerEngine } from "../src/services/DockerEngine.ts"
import { fetchText, freePort, TestLayer } from "./helpers.ts"

const fixture = (name: string) => Path.join(import.meta.dirname, "fixtures", "compose", name)

const uniqueProject = () => `etc-test-${Crypto.randomBytes(4).toString("hex")}`

/** Counts the containers, networks and volumes that carry the project label. */
const projectResources = (project: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const filters = JSON.stringify({ label: [`${Compose.labels.project}=${project}`] })
    const containers = yield* engine.call("container list", project, (client) =>
      client.listContainers({ all: true, filters }))
    const networks = yield* engine.call("network list", project, (client) =>
      client.listNetworks({ filters }))
    const volumes = yield* engine.call("volume list", project, (client) =>
      client.listVolumes({ filters }))
    return { containers: containers.length, networks: networks.length, volumes: (volumes.Volumes ?? []).length }
  })

const expectProjectGone = (project: string) =>
  Effect.gen(function*() {
    const left = yield* projectResources(project)
    assert.strictEqual(left.containers, 0, `containers of ${project} left behind`)
    assert.strictEqual(left.networks, 0, `networks of ${project} left behind`)
    assert.strictEqual(left.volumes, 0, `volumes of ${project} left behind`)
  })

const webClient = (projectName: string, options: Partial<Compose.ComposeOptions> = {}): Compose.ComposeOptions => ({
  files: fixture("web-client.yml"),
  projectName,
  env: { WEB_TEXT: "served by web" },
  waitStrategies: { web: Wait.forHttp("/", 8080) },
  ...options
})

const EngineAndProcesses = Layer.mergeAll(TestLayer, NodeServices.layer)

layer(EngineAndProcesses, { excludeTestServices: true, timeout: "180 seconds" })("Compose", (it) => {
  it.effect("peer fetches web by service name", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(webClient(projectName))
        assert.strictEqual(project.project, projectName)
        assert.deepStrictEqual([...project.services], ["web", "client"], "the debug profile is off")

        const client = yield* project.service("client")
        const result = yield* client.exec(["wget", "-qO-", "http://web:8080/"])
        assert.strictEqual(result.exitCode, 0, result.stderr)
        assert.strictEqual(result.stdout.trim(), "served by web")
        assert.deepStrictEqual([...client.networkNames], [`${projectName}_default`])

        const left = yield* projectResources(projectName)
        assert.strictEqual(left.containers, 2)
        assert.strictEqual(left.volumes, 1, "the named volume data")
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("endpoint reaches web from the test", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(webClient(projectName))
        const web = yield* project.service("web")
        const endpoint = yield* web.endpoint(8080)
        assert.strictEqual(endpoint.port, yield* web.mappedPort(8080))
        assert.notStrictEqual(endpoint.port, 8080)
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "served by web")

        const unpublished = yield* Effect.flip(web.mappedPort(9999))
        assert.strictEqual(unpublished._tag, "EndpointError")

        const all = yield* project.serviceContainers("web")
        assert.strictEqual(all.length, 1)
        assert.strictEqual(all[0]?.id, web.id)
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("override file merges over base", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(
          webClient(projectName, { files: [fixture("web-client.yml"), fixture("web-override.yml")] })
        )
        assert.deepStrictEqual([...project.files], [fixture("web-client.yml"), fixture("web-override.yml")])
        const endpoint = yield* project.service("web").pipe(Effect.flatMap((web) => web.endpoint(8080)))
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "from the override file")
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("down before the scope closes", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(webClient(projectName, { profiles: ["debug"] }))
        assert.deepStrictEqual([...project.services], ["web", "client", "debug"])
        const running = yield* projectResources(projectName)
        assert.strictEqual(running.containers, 3)

        yield* project.down
        yield* expectProjectGone(projectName)
        yield* project.down

        const afterDown = yield* Effect.flip(project.service("web"))
        assert.strictEqual(afterDown._tag, "ComposeContainerNotFoundError")
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("failed down is cleaned up by labels", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const command = ["sh", fixture("fail-down.sh")] as const
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(webClient(projectName, { command, waitStrategies: {} }))
        assert.deepStrictEqual([...project.cli.command], [...command])
        const running = yield* projectResources(projectName)
        assert.deepStrictEqual(running, { containers: 2, networks: 1, volumes: 1 })
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("unknown service lookup fails", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        const project = yield* Compose.up(webClient(projectName, { waitStrategies: {} }))
        const error = yield* Effect.flip(project.service("debug"))
        assert.strictEqual(error._tag, "ComposeUnknownServiceError")
        assert.include(error.message, "web, client")
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("YAML error names file and line", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up({ files: fixture("invalid-yaml.yml"), projectName }).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "ComposeFileError")
      if (error._tag === "ComposeFileError") {
        assert.strictEqual(error.file, fixture("invalid-yaml.yml"))
        assert.strictEqual(error.problem, "Invalid")
        assert.isDefined(error.line)
        assert.include(error.message, "invalid-yaml.yml")
        assert.include(error.message, `line ${error.line}`)
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("missing file fails before up", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const missing = fixture("does-not-exist.yml")
      const error = yield* Effect.flip(
        Compose.up({ files: [fixture("web-client.yml"), missing], projectName }).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "ComposeFileError")
      if (error._tag === "ComposeFileError") {
        assert.strictEqual(error.file, missing)
        assert.strictEqual(error.problem, "NotFound")
      }
      assert.include(error.message, missing)
      yield* expectProjectGone(projectName)
    }))

  it.effect("unknown service in waits fails before up", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up(webClient(projectName, { waitStrategies: { web: Wait.forRunning, wbe: Wait.forRunning } })).pipe(
          Effect.scoped
        )
      )
      assert.strictEqual(error._tag, "ComposeUnknownServiceError")
      if (error._tag === "ComposeUnknownServiceError") {
        assert.strictEqual(error.service, "wbe")
        assert.strictEqual(error.usedIn, "waitStrategies")
        assert.deepStrictEqual([...error.services], ["web", "client"])
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("service behind an inactive profile is unknown", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up(webClient(projectName, { waitStrategies: { debug: Wait.forRunning } })).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "ComposeUnknownServiceError")
      yield* expectProjectGone(projectName)
    }))

  it.effect("failed up carries stderr, leaves nothing", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const hostPort = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const error = yield* Effect.flip(
          Compose.up({ files: fixture("port-conflict.yml"), projectName, env: { HOST_PORT: String(hostPort) } })
        )
        assert.strictEqual(error._tag, "ComposeCommandError")
        if (error._tag === "ComposeCommandError") {
          assert.notStrictEqual(error.exitCode, 0)
          assert.include(error.stderr, String(hostPort), "stderr names the port that is taken")
          assert.include(error.command, " up -d")
        }
        // The caller's scope is still open: the half-started project is gone already.
        yield* expectProjectGone(projectName)
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("interruption during up leaves nothing", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const fiber = yield* Compose.up({ files: fixture("never-healthy.yml"), projectName }).pipe(
        Effect.scoped,
        Effect.forkChild
      )
      // `up` blocks on the health check of slow, so it is still running here.
      yield* projectResources(projectName).pipe(
        Effect.filterOrFail((resources) => resources.containers > 0),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause), String(exit))
      yield* expectProjectGone(projectName)
    }))

  it.effect("startup timeout during up", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up({ files: fixture("never-healthy.yml"), projectName, startupTimeout: "4 seconds" }).pipe(
          Effect.scoped
        )
      )
      assert.strictEqual(error._tag, "ComposeStartupTimeoutError")
      if (error._tag === "ComposeStartupTimeoutError") {
        assert.include(error.step, " up -d")
        assert.strictEqual(error.timeout, "4s")
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("wait strategy sees the exit", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up({
          files: fixture("exits.yml"),
          projectName,
          waitStrategies: { job: Wait.forLogMessage("never printed") }
        }).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "ContainerExitedError")
      if (error._tag === "ContainerExitedError") {
        assert.strictEqual(error.exitCode, 3)
        assert.include(error.lastLogs, "job done")
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("project name in use is rejected", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Compose.up(webClient(projectName, { waitStrategies: {} }))
        const error = yield* Effect.flip(Compose.up(webClient(projectName)).pipe(Effect.scoped))
        assert.strictEqual(error._tag, "InvalidSpecError")
        assert.include(error.message, projectName)
        const still = yield* projectResources(projectName)
        assert.strictEqual(still.containers, 2, "the rejected up must not take the first project down")
      }))
      yield* expectProjectGone(projectName)
    }))

  it.effect("invalid options fail before up", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Partial<Compose.ComposeOptions>, string]> = [
        [{ projectName: "My Project" }, "compose options.projectName"],
        [{ startupTimeout: -5 }, "compose options.startupTimeout"],
        [{ stopTimeout: -1 }, "compose options.stopTimeout"],
        [{ waitStrategies: { web: Wait.forHttp("/", 70000) } }, "compose options.waitStrategies.web.port"],
        [{ waitStrategies: { web: Wait.forLogMessage("ready", 0) } }, "compose options.waitStrategies.web.times"]
      ]
      for (const [options, path] of cases) {
        const projectName = uniqueProject()
        const error = yield* Effect.flip(Compose.up(webClient(projectName, options)).pipe(Effect.scoped))
        assert.strictEqual(error._tag, "InvalidSpecError", path)
        if (error._tag === "InvalidSpecError") {
          assert.strictEqual(error.path, path)
        }
        yield* expectProjectGone(projectName)
      }
    }))

  it.effect("pull never is rejected for v1", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up(webClient(projectName, { command: ["sh", fixture("fake-v1.sh")], pull: "never" })).pipe(
          Effect.scoped
        )
      )
      assert.strictEqual(error._tag, "InvalidSpecError")
      if (error._tag === "InvalidSpecError") {
        assert.strictEqual(error.path, "compose options.pull")
        assert.include(error.reason, "1.29.2")
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("configured command that is missing", () =>
    Effect.gen(function*() {
      const projectName = uniqueProject()
      const error = yield* Effect.flip(
        Compose.up(webClient(projectName, { command: ["etc-no-such-compose"] })).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "ComposeCliNotFoundError")
      if (error._tag === "ComposeCliNotFoundError") {
        assert.deepStrictEqual(error.attempts.map((attempt) => attempt.command), ["etc-no-such-compose"])
        assert.include(error.attempts[0]?.reason ?? "", "not on PATH")
      }
      yield* expectProjectGone(projectName)
    }))

  it.effect("detected CLI reports its version", () =>
    Effect.gen(function*() {
      const cli = yield* Compose.detectCli()
      assert.match(cli.version, /^\d+\.\d+\.\d+/)
      assert.strictEqual(cli.major, Number(cli.version.split(".")[0]))
      assert.deepStrictEqual([...cli.command], cli.major >= 2 ? ["docker", "compose"] : ["docker-compose"])
    }))
})

class WebProject extends Context.Service<WebProject, Compose.StartedCompose>()("test/WebProject") {}

const layerProject = uniqueProject()

describe("Compose.layer", () => {
  layer(
    Compose.layer(WebProject, webClient(layerProject)).pipe(Layer.provideMerge(EngineAndProcesses)),
    { excludeTestServices: true, timeout: "180 seconds" }
  )((it) => {
    it.effect("provides the started project", () =>
      Effect.gen(function*() {
        const project = yield* WebProject
        assert.strictEqual(project.project, layerProject)
        const endpoint = yield* project.service("web").pipe(Effect.flatMap((web) => web.endpoint(8080)))
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "served by web")
      }))
  })
})
