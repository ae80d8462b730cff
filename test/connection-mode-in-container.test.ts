/**
 * Connection mode detection where the test process runs in a container with
 * the engine socket mounted. The probe fixture runs in a Node container on a
 * user-defined network, starts an HTTP server container with the library and
 * fetches a token from the endpoint that the detected mode resolves.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { DockerEngine, layer as engineLayer, sessionLabels } from "../src/services/DockerEngine.ts"

const repositoryRoot = Path.resolve(import.meta.dirname, "..")
const nodeImage = "effect-testcontainers/node:24"
const testLabel = "io.effect-testcontainers.test"
const probeTimeoutMillis = 120_000

const ProbeResult = Schema.Struct({
  mode: Schema.String,
  reason: Schema.String,
  ownContainer: Schema.NullOr(Schema.String),
  endpoint: Schema.Struct({ host: Schema.String, port: Schema.Number }),
  serverNetworks: Schema.Record(
    Schema.String,
    Schema.Struct({
      IPAddress: Schema.optionalKey(Schema.NullOr(Schema.String)),
      Gateway: Schema.optionalKey(Schema.NullOr(Schema.String))
    })
  ),
  body: Schema.String
})

const randomName = (prefix: string) => `${prefix}-${Crypto.randomBytes(4).toString("hex")}`

// A user-defined network, removed when the test's scope closes.
const userNetwork = Effect.gen(function*() {
  const engine = yield* DockerEngine
  const name = randomName("connection-mode")
  yield* Effect.acquireRelease(
    engine.call(
      "network create",
      name,
      (client) => client.createNetwork({ Name: name, Driver: "bridge", Labels: { ...sessionLabels } })
    ),
    () => engine.call("network remove", name, (client) => client.getNetwork(name).remove()).pipe(Effect.ignore)
  )
  return name
})

// Removes every container that carries the test label with this value: the
// server of a probe that died before its own cleanup.
const removeLabelled = (labelValue: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const filters = JSON.stringify({ label: [`${testLabel}=${labelValue}`] })
    const containers = yield* engine.call("container list", labelValue, (client) =>
      client.listContainers({ all: true, filters }))
    for (const container of containers) {
      yield* engine.call("container remove", container.Id, (client) =>
        client.getContainer(container.Id).remove({ force: true }))
    }
  }).pipe(Effect.ignore)

// Files that replace the ones the engine bind-mounts from the container's
// directory, so /proc/self/mountinfo names no container id.
const hiddenIdentityFiles = Effect.acquireRelease(
  Effect.sync(() => {
    const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "connection-mode-identity-"))
    Fs.writeFileSync(Path.join(directory, "hostname"), "probe-hidden\n")
    Fs.writeFileSync(Path.join(directory, "hosts"), "127.0.0.1 localhost probe-hidden\n")
    Fs.writeFileSync(Path.join(directory, "resolv.conf"), "")
    return directory
  }),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

interface ProbeRun {
  readonly containerName: string
  readonly exitCode: number
  readonly output: string
  readonly result: typeof ProbeResult.Type | undefined
}

// Runs the probe fixture in a Node container with the repository mounted
// read-only and the engine socket mounted, and waits for it to exit.
const runProbe = (options: { readonly network: string; readonly hideIdentity: boolean }) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const token = randomName("token")
    const labelValue = randomName("probe")
    const containerName = labelValue
    const binds = [`${repositoryRoot}:/repo:ro`, "/var/run/docker.sock:/var/run/docker.sock"]
    if (options.hideIdentity) {
      const directory = yield* hiddenIdentityFiles
      binds.push(
        `${directory}/hostname:/etc/hostname:ro`,
        `${directory}/hosts:/etc/hosts:ro`,
        `${directory}/resolv.conf:/etc/resolv.conf:ro`
      )
    }

    yield* Effect.addFinalizer(() => removeLabelled(labelValue).pipe(Effect.provideService(DockerEngine, engine)))
    const id = yield* Effect.acquireRelease(
      engine.call("container create", containerName, (client) =>
        client.createContainer({
          name: containerName,
          Image: nodeImage,
          Cmd: ["node", "test/fixtures/connection-mode/probe.ts", token, labelValue],
          WorkingDir: "/repo",
          Env: ["HOME=/tmp"],
          Tty: true,
          Labels: { ...sessionLabels, [testLabel]: labelValue },
          ...(options.hideIdentity ? { Hostname: "probe-hidden" } : {}),
          HostConfig: {
            Binds: binds,
            NetworkMode: options.network,
            // A private cgroup namespace shows "/" in /proc/self/cgroup instead of the id.
            ...(options.hideIdentity ? { CgroupnsMode: "private" } : {})
          }
        })).pipe(Effect.map((container) => container.id)),
      (id) =>
        engine.call("container remove", id, (client) => client.getContainer(id).remove({ force: true })).pipe(
          Effect.ignore
        )
    )

    yield* engine.call("container start", id, (client) => client.getContainer(id).start())
    const exit = yield* engine.call("container wait", id, (client, signal) =>
      client.getContainer(id).wait({ abortSignal: signal })).pipe(
        Effect.timeoutOrElse({
          duration: probeTimeoutMillis,
          orElse: () =>
            Effect.succeed({ StatusCode: -1 })
        })
      )
    const logs = yield* engine.call("container logs", id, (client) =>
      client.getContainer(id).logs({ stdout: true, stderr: true, follow: false }))
    const output = Buffer.from(logs).toString("utf8")

    const resultLine = output.split(/\r?\n/).find((line) =>
      line.startsWith("RESULT ")
    )
    const result = resultLine === undefined
      ? undefined
      : yield* Schema.decodeUnknownEffect(Schema.fromJsonString(ProbeResult))(resultLine.slice("RESULT ".length))
    return { containerName, exitCode: exit.StatusCode, output, result, token } satisfies ProbeRun & {
      readonly token: string
    }
  })

const expectSucceeded = (run: ProbeRun) => {
  assert.strictEqual(run.exitCode, 0, `the probe failed; its output:\n${run.output}`)
  assert.isDefined(run.result, `the probe printed no result; its output:\n${run.output}`)
}

describe("connection mode in a container", () => {
  it.live("picks bridge_ip outside of Docker", () =>
    Effect.gen(function*() {
      const network = yield* userNetwork
      const run = yield* runProbe({ network, hideIdentity: false })
      expectSucceeded(run)
      const result = run.result
      if (result === undefined) {
        return
      }
      assert.strictEqual(result.mode, "bridge_ip", result.reason)
      assert.strictEqual(result.ownContainer, run.containerName)
      assert.match(result.reason, /found by its hostname/)
      // prepare joined the server to the probe's network, and the endpoint is its address there.
      assert.strictEqual(result.endpoint.host, result.serverNetworks[network]?.IPAddress)
      assert.strictEqual(result.endpoint.port, 8080)
      assert.strictEqual(result.body, run.token)
    }).pipe(Effect.scoped, Effect.provide(engineLayer())))

  it.live("picks gateway_ip when unknown", () =>
    Effect.gen(function*() {
      const network = yield* userNetwork
      const run = yield* runProbe({ network, hideIdentity: true })
      expectSucceeded(run)
      const result = run.result
      if (result === undefined) {
        return
      }
      assert.strictEqual(result.mode, "gateway_ip", result.reason)
      assert.isNull(result.ownContainer)
      assert.match(result.reason, /does not list/)
      const serverNetworks = Object.values(result.serverNetworks)
      assert.strictEqual(serverNetworks.length, 1)
      assert.strictEqual(result.endpoint.host, serverNetworks[0]?.Gateway)
      assert.notStrictEqual(result.endpoint.port, 8080)
      assert.strictEqual(result.body, run.token)
    }).pipe(Effect.scoped, Effect.provide(engineLayer())))
})
