import { assert, describe, it } from "@effect/vitest"
import type Dockerode from "dockerode"
import { Effect, Layer } from "effect"
import { EngineRequestError } from "../../src/Errors.ts"
import {
  collectContainerHints,
  decideFromLocalFacts,
  decideInContainer,
  type DetectionProbes,
  type OwnContainerLookup
} from "../../src/internal/detect.ts"
import type { EngineAddress } from "../../src/internal/engineAddress.ts"
import * as ConnectionMode from "../../src/services/ConnectionMode.ts"
import { DockerEngine } from "../../src/services/DockerEngine.ts"
import * as TestcontainersConfig from "../../src/services/TestcontainersConfig.ts"

const ownId = "3f2a9c1d7e4b".padEnd(64, "a")
const otherId = "b".repeat(64)

const probes = (files: Record<string, string>, options: {
  readonly hostname?: string
  readonly addresses?: ReadonlyArray<string>
} = {}): DetectionProbes => ({
  fileExists: (path) => Object.hasOwn(files, path),
  readFile: (path) => files[path],
  hostname: () => options.hostname ?? "laptop",
  isLocalAddress: (address) => Effect.succeed((options.addresses ?? ["127.0.0.1", "::1"]).includes(address))
})

const dockerMountinfo = [
  "1021 1003 0:95 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X",
  `1040 1021 8:1 /var/lib/docker/containers/${ownId}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  `1041 1021 8:1 /var/lib/docker/containers/${ownId}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`
].join("\n")

const socket: EngineAddress = { _tag: "Socket", path: "/var/run/docker.sock" }

describe("collectContainerHints", () => {
  it("finds nothing on a laptop", () => {
    const hints = collectContainerHints(probes({ "/proc/self/cgroup": "0::/user.slice/session-2.scope\n" }))
    assert.deepStrictEqual(hints.markers, [])
    assert.deepStrictEqual(hints.candidates, [])
  })

  it("reads the marker files", () => {
    const hints = collectContainerHints(probes({ "/.dockerenv": "", "/run/.containerenv": "" }))
    assert.deepStrictEqual(hints.markers, ["/.dockerenv", "/run/.containerenv"])
  })

  it("orders hostname, mountinfo and cgroup ids", () => {
    const hints = collectContainerHints(probes({
      "/.dockerenv": "",
      "/proc/self/mountinfo": dockerMountinfo,
      "/proc/self/cgroup": `12:memory:/docker/${otherId}\n0::/system.slice/docker-${ownId}.scope\n`
    }, { hostname: ownId.slice(0, 12) }))
    assert.deepStrictEqual(hints.markers, ["/.dockerenv", "/proc/self/cgroup", "/proc/self/mountinfo"])
    assert.deepStrictEqual(hints.candidates, [
      { id: ownId.slice(0, 12), source: "hostname" },
      { id: ownId, source: "/proc/self/mountinfo" },
      { id: otherId, source: "/proc/self/cgroup" }
    ])
  })

  it("ignores a hostname that is not an id", () => {
    const hints = collectContainerHints(probes({ "/.dockerenv": "" }, { hostname: "ci-runner-7" }))
    assert.deepStrictEqual(hints.candidates, [])
  })

  it("reads podman container ids", () => {
    const line =
      `99 1 0:5 /containers/storage/overlay-containers/${ownId}/userdata/hostname /etc/hostname rw - tmpfs tmpfs rw`
    const hints = collectContainerHints(probes({ "/run/.containerenv": "", "/proc/self/mountinfo": line }))
    assert.deepStrictEqual(hints.candidates, [{ id: ownId, source: "/proc/self/mountinfo" }])
  })
})

describe("decideFromLocalFacts", () => {
  const inContainer = { markers: ["/.dockerenv"], candidates: [] }
  const outside = { markers: [], candidates: [] }

  it("picks docker_host on a laptop", () => {
    const decision = decideFromLocalFacts({
      hostOverride: undefined,
      engineAddress: socket,
      engineAddressSource: "default socket",
      hints: outside
    })
    assert.strictEqual(decision?.mode, "docker_host")
    assert.match(decision?.reason ?? "", /does not run in a container/)
  })

  it("picks docker_host for a TCP engine", () => {
    const decision = decideFromLocalFacts({
      hostOverride: undefined,
      engineAddress: { _tag: "Tcp", host: "docker", port: 2375 },
      engineAddressSource: "DOCKER_HOST",
      hints: inContainer
    })
    assert.strictEqual(decision?.mode, "docker_host")
    assert.match(decision?.reason ?? "", /tcp:\/\/docker:2375 \(DOCKER_HOST\), so mapped ports are dialled on docker/)
  })

  it("picks docker_host for an SSH engine", () => {
    const decision = decideFromLocalFacts({
      hostOverride: undefined,
      engineAddress: { _tag: "Ssh", host: "build-host", port: 22, username: "ci" },
      engineAddressSource: "DOCKER_HOST",
      hints: inContainer
    })
    assert.strictEqual(decision?.mode, "docker_host")
  })

  it("picks docker_host for a host override", () => {
    const decision = decideFromLocalFacts({
      hostOverride: { value: "engine.example", origin: "environment variable TESTCONTAINERS_HOST_OVERRIDE" },
      engineAddress: socket,
      engineAddressSource: "default socket",
      hints: inContainer
    })
    assert.strictEqual(decision?.mode, "docker_host")
    assert.match(
      decision?.reason ?? "",
      /TESTCONTAINERS_HOST_OVERRIDE\), so mapped ports are dialled on engine.example/
    )
  })

  it("defers to the engine in a container", () => {
    const decision = decideFromLocalFacts({
      hostOverride: undefined,
      engineAddress: socket,
      engineAddressSource: "default socket",
      hints: inContainer
    })
    assert.isUndefined(decision)
  })
})

describe("decideInContainer", () => {
  const found: OwnContainerLookup = {
    _tag: "Found",
    container: {
      id: ownId,
      name: "ci-job",
      networkMode: "ci-net",
      networks: [{ name: "ci-net", id: "net-ci", gateway: "192.0.2.1" }],
      foundBy: `its hostname ${ownId.slice(0, 12)}`
    }
  }
  const notFound: OwnContainerLookup = { _tag: "NotFound", tried: ["abcdef012345 from hostname: no such container"] }

  it("picks bridge_ip when its container is found", () => {
    const decision = decideInContainer(["/.dockerenv"], { ownContainer: found, sharedGateway: undefined })
    assert.strictEqual(decision.mode, "bridge_ip")
    assert.match(decision.reason, /container ci-job \(3f2a9c1d7e4b\), which the engine found by its hostname/)
  })

  it("picks docker_host on the engine's network", () => {
    const decision = decideInContainer(["/.dockerenv"], { ownContainer: notFound, sharedGateway: "192.0.2.1" })
    assert.strictEqual(decision.mode, "docker_host")
    assert.match(decision.reason, /local address 192\.0\.2\.1 is an engine bridge gateway/)
  })

  it("picks gateway_ip otherwise", () => {
    const decision = decideInContainer(["/.dockerenv"], { ownContainer: notFound, sharedGateway: undefined })
    assert.strictEqual(decision.mode, "gateway_ip")
    assert.match(decision.reason, /Docker-in-Docker/)
    assert.match(decision.reason, /abcdef012345 from hostname: no such container/)
  })
})

// A fake engine that returns inspect data for `ownId` only, with a 404 for
// any other id, and lists one default bridge network.
const fakeEngine = (address: EngineAddress) => {
  const client = {
    getContainer: (id: string) => ({
      inspect: () =>
        ownId.startsWith(id)
          ? Promise.resolve({
            Id: ownId,
            Name: "/ci-job",
            State: { Status: "running", Running: true, ExitCode: 0 },
            Config: { Image: "effect-testcontainers/node:24", Hostname: ownId.slice(0, 12) },
            HostConfig: { NetworkMode: "ci-net" },
            NetworkSettings: {
              Ports: {},
              Networks: { "ci-net": { NetworkID: "net-ci", IPAddress: "192.0.2.20", Gateway: "192.0.2.1" } }
            }
          })
          : Promise.reject(Object.assign(new Error("no such container"), { statusCode: 404 }))
    }),
    listNetworks: () =>
      Promise.resolve([{
        Id: "net-default",
        Name: "bridge",
        Driver: "bridge",
        Options: { "com.docker.network.bridge.default_bridge": "true" },
        IPAM: { Config: [{ Subnet: "198.51.100.0/24", Gateway: "198.51.100.1" }] }
      }])
  }
  return Layer.succeed(DockerEngine)(DockerEngine.of({
    client: client as unknown as Dockerode,
    address,
    addressSource: address._tag === "Socket" ? "default socket" : "DOCKER_HOST",
    hostName: address._tag === "Socket" ? "localhost" : address.host,
    info: { serverVersion: "20.10.24", apiVersion: "1.41", os: "linux", arch: "amd64" },
    call: (operation, target, request) =>
      Effect.tryPromise({
        try: (signal) => request(client as unknown as Dockerode, signal),
        catch: (cause) =>
          new EngineRequestError({
            operation,
            target,
            statusCode: (cause as { statusCode?: number }).statusCode ?? 500,
            engineMessage: String(cause)
          })
      })
  }))
}

const detectWith = (
  files: Record<string, string>,
  options: {
    readonly hostname?: string
    readonly addresses?: ReadonlyArray<string>
    readonly env?: Record<string, string>
    readonly address?: EngineAddress
  } = {}
) =>
  ConnectionMode.detect({ probes: probes(files, options) }).pipe(
    Effect.provide(Layer.mergeAll(
      fakeEngine(options.address ?? socket),
      TestcontainersConfig.layer({ env: options.env ?? {}, propertiesPath: "/nonexistent/.testcontainers.properties" })
    ))
  )

describe("detect", () => {
  it.effect("picks docker_host outside a container", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({})
      assert.strictEqual(settings.mode, "docker_host")
      assert.isUndefined(settings.ownContainer)
    }))

  it.effect("finds its container by hostname", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, { hostname: ownId.slice(0, 12) })
      assert.strictEqual(settings.mode, "bridge_ip")
      assert.strictEqual(settings.ownContainer?.id, ownId)
      assert.deepStrictEqual(settings.ownContainer?.networks, [{ name: "ci-net", id: "net-ci", gateway: "192.0.2.1" }])
    }))

  it.effect("finds its container by mountinfo", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "", "/proc/self/mountinfo": dockerMountinfo }, {
        hostname: "custom-name"
      })
      assert.strictEqual(settings.mode, "bridge_ip")
      assert.match(settings.reason, /found by the id in \/proc\/self\/mountinfo/)
    }))

  it.effect("picks gateway_ip for an unknown container", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, { hostname: "0123456789ab" })
      assert.strictEqual(settings.mode, "gateway_ip")
      assert.match(settings.reason, /tried 0123456789ab from hostname: no such container/)
      assert.strictEqual(settings.engineHostAddress, "198.51.100.1")
    }))

  it.effect("picks docker_host on the engine's network", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, { addresses: ["127.0.0.1", "198.51.100.1"] })
      assert.strictEqual(settings.mode, "docker_host")
    }))

  it.effect("picks docker_host for a TCP engine", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, {
        hostname: ownId.slice(0, 12),
        address: { _tag: "Tcp", host: "docker", port: 2375 }
      })
      assert.strictEqual(settings.mode, "docker_host")
      assert.isUndefined(settings.dockerHost)
    }))

  it.effect("lets the variable win over detection", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, {
        hostname: ownId.slice(0, 12),
        env: { TESTCONTAINERS_CONNECTION_MODE: "gateway_ip" }
      })
      assert.strictEqual(settings.mode, "gateway_ip")
      assert.strictEqual(settings.reason, "set by environment variable TESTCONTAINERS_CONNECTION_MODE")
    }))

  it.effect("looks up its container for forced bridge_ip", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, {
        hostname: ownId.slice(0, 12),
        env: { TESTCONTAINERS_CONNECTION_MODE: "bridge_ip" }
      })
      assert.strictEqual(settings.mode, "bridge_ip")
      assert.strictEqual(settings.ownContainer?.name, "ci-job")
    }))

  it.effect("uses the host override", () =>
    Effect.gen(function*() {
      const settings = yield* detectWith({ "/.dockerenv": "" }, {
        env: { TESTCONTAINERS_HOST_OVERRIDE: " engine.example " }
      })
      assert.strictEqual(settings.mode, "docker_host")
      assert.strictEqual(settings.dockerHost, "engine.example")
    }))
})
