import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Layer } from "effect"
import { Container, Wait } from "../../src/index.ts"
import { createOptions, planNetworks } from "../../src/internal/container.ts"
import { validateSpec } from "../../src/internal/spec.ts"
import { ConnectionMode } from "../../src/services/ConnectionMode.ts"
import { DockerEngine } from "../../src/services/DockerEngine.ts"

// An engine whose every call fails the test: validation must finish first.
const NoEngineCalls = Layer.mergeAll(
  Layer.succeed(DockerEngine)(DockerEngine.of({
    client: undefined as never,
    address: { _tag: "Socket", path: "/nonexistent" },
    addressSource: "test",
    hostName: "localhost",
    info: { serverVersion: "0", apiVersion: "1.41", os: "linux", arch: "amd64" },
    call: (operation) => Effect.die(new Error(`unexpected engine call ${operation}`))
  })),
  Layer.succeed(ConnectionMode)(ConnectionMode.of({
    mode: "docker_host",
    reason: "test",
    dockerHost: "localhost",
    resolve: () => Effect.die(new Error("unexpected endpoint resolution")),
    prepare: () => Effect.die(new Error("unexpected prepare"))
  }))
)

const base = Container.make("effect-testcontainers/toolbox:1")

const invalidSpecs: ReadonlyArray<{
  readonly name: string
  readonly spec: Container.ContainerSpec
  readonly path: string
  readonly value: string
  readonly reason: RegExp
}> = [
  {
    name: "port 0",
    spec: base.pipe(Container.withExposedPorts(0)),
    path: "container spec.exposedPorts[0]",
    value: "0",
    reason: /from 1 to 65535/
  },
  {
    name: "port 70000",
    spec: base.pipe(Container.withExposedPorts(80, 70000)),
    path: "container spec.exposedPorts[1]",
    value: "70000",
    reason: /from 1 to 65535/
  },
  {
    name: "protocol sctpx",
    spec: base.pipe(Container.withExposedPorts("53/sctpx" as Container.PortInput)),
    path: "container spec.exposedPorts[0]",
    value: "\"53/sctpx\"",
    reason: /\/tcp, \/udp or \/sctp/
  },
  {
    name: "fractional port",
    spec: base.pipe(Container.withExposedPorts(80.5)),
    path: "container spec.exposedPorts[0]",
    value: "80.5",
    reason: /integer/
  },
  {
    name: "alias with a space",
    spec: base.pipe(Container.withNetwork("some-net", { aliases: ["my db"] })),
    path: "container spec.networks[0].aliases[0]",
    value: "\"my db\"",
    reason: /no spaces/
  },
  {
    name: "aliases with network mode host",
    spec: base.pipe(Container.withNetworkMode("host"), Container.withNetwork("some-net", { aliases: ["db"] })),
    path: "container spec.networks[0].aliases",
    value: "[\"db\"]",
    reason: /network mode is "host"/
  },
  {
    name: "networks with network mode none",
    spec: base.pipe(Container.withNetworkMode("none"), Container.withNetwork("some-net")),
    path: "container spec.networks",
    value: "[\"some-net\"]",
    reason: /cannot join other networks/
  },
  {
    name: "port binding with network mode host",
    spec: base.pipe(Container.withNetworkMode("host"), Container.withPortBinding(443, 8443)),
    path: "container spec.portBindings",
    value: "[\"8443:443\"]",
    reason: /no effect with network mode "host"/
  },
  {
    name: "host port 0",
    spec: base.pipe(Container.withPortBinding("443/tcp", 0)),
    path: "container spec.portBindings[0].hostPort",
    value: "0",
    reason: /host port/
  },
  {
    name: "network listed twice",
    spec: base.pipe(Container.withNetwork("a"), Container.withNetwork("a", { aliases: ["x"] })),
    path: "container spec.networks",
    value: "[\"a\",\"a\"]",
    reason: /listed twice/
  },
  {
    name: "image with a space",
    spec: Container.make("my image"),
    path: "container spec.image",
    value: "\"my image\"",
    reason: /no spaces/
  },
  {
    name: "relative mount target",
    spec: base.pipe(Container.withMount("/tmp", "data")),
    path: "container spec.mounts[0].target",
    value: "\"data\"",
    reason: /absolute path/
  },
  {
    name: "wait port out of range",
    spec: base.pipe(Container.withWaitStrategy(Wait.forListeningPorts(65536))),
    path: "container spec.waitStrategy.ports[0]",
    value: "65536",
    reason: /from 1 to 65535/
  },
  {
    name: "zero startup timeout",
    spec: base.pipe(Container.withStartupTimeout(0)),
    path: "container spec.startupTimeout",
    value: "0",
    reason: /positive duration/
  },
  {
    name: "negative startup timeout",
    spec: base.pipe(Container.withStartupTimeout(-5000)),
    path: "container spec.startupTimeout",
    value: "-5000",
    reason: /positive duration/
  },
  {
    name: "unparsable poll interval",
    spec: base.pipe(Container.withPollInterval("5 sec" as Duration.Input)),
    path: "container spec.pollInterval",
    value: "\"5 sec\"",
    reason: /such as 30000/
  },
  {
    name: "env name with =",
    spec: base.pipe(Container.withEnv({ "A=B": "c" })),
    path: "container spec.env",
    value: "\"A=B\"",
    reason: /contain no '='/
  },
  {
    name: "log wait zero times",
    spec: base.pipe(Container.withWaitStrategy(Wait.forLogMessage("ready", 0))),
    path: "container spec.waitStrategy.times",
    value: "0",
    reason: /positive integer/
  }
]

describe("container spec validation", () => {
  for (const testCase of invalidSpecs) {
    it.effect(`rejects ${testCase.name}`, () =>
      Effect.gen(function*() {
        const error = yield* Container.start(testCase.spec).pipe(Effect.scoped, Effect.flip)

        assert.strictEqual(error._tag, "InvalidSpecError")
        if (error._tag !== "InvalidSpecError") return
        assert.strictEqual(error.path, testCase.path)
        assert.strictEqual(error.value, testCase.value)
        assert.match(error.reason, testCase.reason)
        assert.include(error.message, testCase.value)
      }).pipe(Effect.provide(NoEngineCalls)))
  }

  it.effect("accepts every port form", () =>
    Effect.gen(function*() {
      const valid = yield* validateSpec(base.pipe(
        Container.withExposedPorts(5432, "6379", "443/tcp", "53/udp", "9999/sctp"),
        Container.withPortBinding("8443/tcp", 18443, "127.0.0.1")
      ))
      assert.deepStrictEqual(valid.exposedPorts.map((port) => `${port.port}/${port.protocol}`), [
        "5432/tcp",
        "6379/tcp",
        "443/tcp",
        "53/udp",
        "9999/sctp",
        "8443/tcp"
      ])
    }))
})

describe("create options", () => {
  it.effect("first network at create time", () =>
    Effect.gen(function*() {
      const spec = base.pipe(
        Container.withNetwork("front", { aliases: ["api"] }),
        Container.withNetwork("back", { aliases: ["api-internal"] }),
        Container.withExposedPorts(8080),
        Container.withPortBinding("443/tcp", 8443)
      )
      const options = createOptions(yield* validateSpec(spec), "etc-test")

      assert.strictEqual(options.HostConfig.NetworkMode, "front")
      assert.deepStrictEqual(options.NetworkingConfig?.EndpointsConfig, { front: { Aliases: ["api"] } })
      assert.deepStrictEqual(options.HostConfig.PortBindings, {
        "8080/tcp": [{ HostIp: "", HostPort: "" }],
        "443/tcp": [{ HostIp: "", HostPort: "8443" }]
      })
      assert.deepStrictEqual(planNetworks(spec).others, [{ network: "back", aliases: ["api-internal"] }])
    }))

  it.effect("several bindings for one port", () =>
    Effect.gen(function*() {
      const spec = base.pipe(
        Container.withPortBinding("8080/tcp", 18080, "0.0.0.0"),
        Container.withPortBinding("8080/tcp", 18081, "::")
      )
      const options = createOptions(yield* validateSpec(spec), "etc-test")
      assert.deepStrictEqual(options.HostConfig.PortBindings, {
        "8080/tcp": [{ HostIp: "0.0.0.0", HostPort: "18080" }, { HostIp: "::", HostPort: "18081" }]
      })
    }))

  it.effect("named network mode joins first", () =>
    Effect.gen(function*() {
      const spec = base.pipe(Container.withNetworkMode("shared"), Container.withNetwork("extra", { aliases: ["x"] }))
      const plan = planNetworks(spec)
      assert.strictEqual(plan.networkMode, "shared")
      assert.deepStrictEqual(plan.first, { network: "shared", aliases: [] })
      assert.deepStrictEqual(plan.others, [{ network: "extra", aliases: ["x"] }])
    }))

  it.effect("host mode publishes nothing", () =>
    Effect.gen(function*() {
      const spec = base.pipe(Container.withNetworkMode("host"), Container.withExposedPorts(8080))
      const options = createOptions(yield* validateSpec(spec), "etc-test")
      assert.strictEqual(options.HostConfig.NetworkMode, "host")
      assert.deepStrictEqual(options.HostConfig.PortBindings, {})
      assert.isUndefined(options.NetworkingConfig)
    }))

  it.effect("session labels win over user labels", () =>
    Effect.gen(function*() {
      const spec = base.pipe(Container.withLabels({ "io.effect-testcontainers.session": "forged", team: "a" }))
      const options = createOptions(yield* validateSpec(spec), "etc-test")
      assert.notStrictEqual(options.Labels["io.effect-testcontainers.session"], "forged")
      assert.strictEqual(options.Labels["team"], "a")
    }))

  it("specs are immutable", () => {
    const withPort = base.pipe(Container.withExposedPorts(80))
    assert.deepStrictEqual(base.exposedPorts, [])
    assert.deepStrictEqual(withPort.exposedPorts, [80])
  })
})
