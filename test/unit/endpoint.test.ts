import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import {
  type Attachment,
  dialEngineHost,
  type HostAddress,
  publishedPorts,
  type ResolutionContext,
  resolveEndpoint
} from "../../src/internal/endpoint.ts"
import type { ContainerInspect, EndpointSettings, PortBinding } from "../../src/internal/inspect.ts"
import type { ContainerPort } from "../../src/internal/port.ts"
import type { Mode } from "../../src/services/ConnectionMode.ts"

// Addresses come from the documentation ranges (RFC 5737, RFC 3849), except
// loopback; nothing here opens a connection.
const http: ContainerPort = { port: 8080, protocol: "tcp" }

const makeInspect = (options: {
  readonly networks?: Record<string, EndpointSettings>
  readonly ports?: ReadonlyArray<PortBinding>
  readonly networkMode?: string
}): ContainerInspect => ({
  Id: "c0ffee".padEnd(64, "0"),
  Name: "/target",
  State: { Status: "running", Running: true, ExitCode: 0 },
  Config: { Image: "effect-testcontainers/toolbox:1" },
  HostConfig: { NetworkMode: options.networkMode ?? "default" },
  NetworkSettings: {
    Ports: options.ports === undefined ? {} : { "8080/tcp": options.ports },
    Networks: options.networks ?? {}
  }
})

const ciNet: EndpointSettings = {
  NetworkID: "net-ci",
  IPAddress: "192.0.2.20",
  Gateway: "192.0.2.1",
  GlobalIPv6Address: "",
  IPv6Gateway: ""
}
const appNet: EndpointSettings = {
  NetworkID: "net-app",
  IPAddress: "198.51.100.30",
  Gateway: "198.51.100.1"
}
const dualStackNet: EndpointSettings = {
  NetworkID: "net-dual",
  IPAddress: "",
  Gateway: "",
  GlobalIPv6Address: "2001:db8::30",
  IPv6Gateway: "2001:db8::1"
}

const ipv4Only: ReadonlyArray<PortBinding> = [{ HostIp: "0.0.0.0", HostPort: "32768" }]
// An engine can publish different host ports for the two families, for
// example when both bindings are set explicitly.
const split: ReadonlyArray<PortBinding> = [
  { HostIp: "0.0.0.0", HostPort: "32768" },
  { HostIp: "::", HostPort: "32769" }
]
const ipv6Only: ReadonlyArray<PortBinding> = [{ HostIp: "::", HostPort: "32770" }]

const loopbacks: ReadonlyArray<HostAddress> = [
  { address: "127.0.0.1", family: 4 },
  { address: "::1", family: 6 }
]

const context = (mode: Mode, overrides: Partial<ResolutionContext> = {}): ResolutionContext => ({
  mode,
  dockerHost: "localhost",
  dockerHostAddresses: loopbacks,
  engineHostAddress: undefined,
  ownNetworkIds: new Set(),
  attachment: undefined,
  ...overrides
})

const expectEndpoint = (
  result: Result.Result<{ readonly host: string; readonly port: number }, string>,
  host: string,
  port: number
) => {
  assert.isTrue(Result.isSuccess(result), Result.isFailure(result) ? result.failure : "")
  if (Result.isSuccess(result)) {
    assert.strictEqual(result.success.host, host)
    assert.strictEqual(result.success.port, port)
  }
}

const expectFailure = (result: Result.Result<unknown, string>, pattern: RegExp) => {
  assert.isTrue(Result.isFailure(result), "expected a failure")
  if (Result.isFailure(result)) {
    assert.match(result.failure, pattern)
  }
}

describe("publishedPorts", () => {
  it("reads family from the host address", () => {
    const published = publishedPorts(makeInspect({ ports: [...split, { HostIp: "", HostPort: "40000" }] }), http)
    assert.deepStrictEqual(published, [
      { hostIp: "0.0.0.0", family: 4, port: 32768 },
      { hostIp: "::", family: 6, port: 32769 },
      { hostIp: "", family: undefined, port: 40000 }
    ])
  })

  it("skips bindings without a host port", () => {
    const published = publishedPorts(makeInspect({ ports: [{ HostIp: "0.0.0.0", HostPort: "" }] }), http)
    assert.strictEqual(published.length, 0)
  })
})

describe("docker_host mode", () => {
  it("keeps the name when every family has the port", () => {
    const inspect = makeInspect({
      networks: { ci: ciNet },
      ports: [...split.slice(0, 1), { HostIp: "::", HostPort: "32768" }]
    })
    expectEndpoint(resolveEndpoint(context("docker_host"), inspect, http), "localhost", 32768)
  })

  it("dials 127.0.0.1 when only IPv4 is published", () => {
    const inspect = makeInspect({ networks: { ci: ciNet }, ports: ipv4Only })
    expectEndpoint(resolveEndpoint(context("docker_host"), inspect, http), "127.0.0.1", 32768)
  })

  it("keeps localhost when it resolves to IPv4 only", () => {
    const inspect = makeInspect({ ports: ipv4Only })
    const ipv4Localhost = context("docker_host", { dockerHostAddresses: [{ address: "127.0.0.1", family: 4 }] })
    expectEndpoint(resolveEndpoint(ipv4Localhost, inspect, http), "localhost", 32768)
  })

  it("returns the IPv4 port of split bindings", () => {
    const inspect = makeInspect({ ports: split })
    expectEndpoint(resolveEndpoint(context("docker_host"), inspect, http), "127.0.0.1", 32768)
  })

  it("returns the IPv6 port when IPv6 is dialled", () => {
    const inspect = makeInspect({ ports: split })
    const ipv6Host = context("docker_host", { dockerHost: "2001:db8::5", dockerHostAddresses: [] })
    expectEndpoint(resolveEndpoint(ipv6Host, inspect, http), "2001:db8::5", 32769)
  })

  it("dials ::1 when only IPv6 is published", () => {
    const inspect = makeInspect({ ports: ipv6Only })
    expectEndpoint(resolveEndpoint(context("docker_host"), inspect, http), "::1", 32770)
  })

  it("fails for an IPv4 host and IPv6-only ports", () => {
    const inspect = makeInspect({ ports: ipv6Only })
    const ipv4Host = context("docker_host", { dockerHost: "192.0.2.5", dockerHostAddresses: [] })
    expectFailure(resolveEndpoint(ipv4Host, inspect, http), /no published port for 8080\/tcp; published: :::32770/)
  })

  it("prefers IPv4 when the name does not resolve", () => {
    const inspect = makeInspect({ ports: split })
    const unresolved = context("docker_host", { dockerHost: "docker", dockerHostAddresses: [] })
    expectEndpoint(resolveEndpoint(unresolved, inspect, http), "docker", 32768)
  })

  it("uses a binding to a specific address", () => {
    const inspect = makeInspect({ ports: [{ HostIp: "127.0.0.1", HostPort: "40001" }] })
    expectEndpoint(resolveEndpoint(context("docker_host"), inspect, http), "127.0.0.1", 40001)
  })

  it("fails when the port is not published", () => {
    const inspect = makeInspect({ networks: { ci: ciNet } })
    expectFailure(resolveEndpoint(context("docker_host"), inspect, http), /8080\/tcp is not published/)
  })

  it("ignores the network option", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet }, ports: ipv4Only })
    expectEndpoint(
      resolveEndpoint(context("docker_host"), inspect, http, { network: "app" }),
      "127.0.0.1",
      32768
    )
  })
})

describe("dialEngineHost", () => {
  it("uses the first address that has a port", () => {
    const resolved: ReadonlyArray<HostAddress> = [
      { address: "2001:db8::5", family: 6 },
      { address: "192.0.2.5", family: 4 }
    ]
    const published = publishedPorts(makeInspect({ ports: ipv4Only }), http)
    expectEndpoint(dialEngineHost("engine.example", resolved, published, http), "192.0.2.5", 32768)
  })
})

describe("bridge_ip mode", () => {
  it("dials the container IP and port", () => {
    const inspect = makeInspect({ networks: { ci: ciNet } })
    expectEndpoint(resolveEndpoint(context("bridge_ip"), inspect, http), "192.0.2.20", 8080)
  })

  it("lists the networks when there are two", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet } })
    expectFailure(
      resolveEndpoint(context("bridge_ip"), inspect, http),
      /on several networks: app, ci; name one with the network option/
    )
  })

  it("uses the named network of two", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet } })
    expectEndpoint(resolveEndpoint(context("bridge_ip"), inspect, http, { network: "app" }), "198.51.100.30", 8080)
  })

  it("accepts a network id as the name", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet } })
    expectEndpoint(resolveEndpoint(context("bridge_ip"), inspect, http, { network: "net-ci" }), "192.0.2.20", 8080)
  })

  it("rejects a network the container is not on", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet } })
    expectFailure(
      resolveEndpoint(context("bridge_ip"), inspect, http, { network: "bridge" }),
      /not on network "bridge"; its networks are: app, ci/
    )
  })

  it("prefers the network shared with its own container", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet } })
    const shared = context("bridge_ip", { ownNetworkIds: new Set(["net-app"]) })
    expectEndpoint(resolveEndpoint(shared, inspect, http), "198.51.100.30", 8080)
  })

  it("uses an attachment missing from the inspect data", () => {
    const inspect = makeInspect({ networks: { app: appNet } })
    const attachment: Attachment = {
      network: "ci",
      networkId: "net-ci",
      ipAddress: "192.0.2.44",
      ipv6Address: undefined
    }
    const attached = context("bridge_ip", { ownNetworkIds: new Set(["net-ci"]), attachment })
    expectEndpoint(resolveEndpoint(attached, inspect, http), "192.0.2.44", 8080)
  })

  it("falls back to the IPv6 address", () => {
    const inspect = makeInspect({ networks: { dual: dualStackNet } })
    expectEndpoint(resolveEndpoint(context("bridge_ip"), inspect, http), "2001:db8::30", 8080)
  })

  it("does not need a published port", () => {
    const inspect = makeInspect({ networks: { ci: ciNet } })
    expectEndpoint(resolveEndpoint(context("bridge_ip"), inspect, http), "192.0.2.20", 8080)
  })

  it("fails for a container on no network", () => {
    const inspect = makeInspect({ networkMode: "none" })
    expectFailure(resolveEndpoint(context("bridge_ip"), inspect, http), /on no network \(network mode none\)/)
  })
})

describe("gateway_ip mode", () => {
  it("dials the gateway and the mapped port", () => {
    const inspect = makeInspect({ networks: { ci: ciNet }, ports: split })
    expectEndpoint(resolveEndpoint(context("gateway_ip"), inspect, http), "192.0.2.1", 32768)
  })

  it("uses the IPv6 gateway and port", () => {
    const inspect = makeInspect({ networks: { dual: dualStackNet }, ports: split })
    expectEndpoint(resolveEndpoint(context("gateway_ip"), inspect, http), "2001:db8::1", 32769)
  })

  it("lists the networks when there are two", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet }, ports: ipv4Only })
    expectFailure(resolveEndpoint(context("gateway_ip"), inspect, http), /several networks: app, ci/)
  })

  it("uses the named network's gateway", () => {
    const inspect = makeInspect({ networks: { ci: ciNet, app: appNet }, ports: ipv4Only })
    expectEndpoint(
      resolveEndpoint(context("gateway_ip"), inspect, http, { network: "app" }),
      "198.51.100.1",
      32768
    )
  })

  it("fails when no binding fits the gateway family", () => {
    const inspect = makeInspect({ networks: { ci: ciNet }, ports: ipv6Only })
    expectFailure(
      resolveEndpoint(context("gateway_ip"), inspect, http),
      /\(:::32770\) accepts connections on the gateway 192\.0\.2\.1 of network ci/
    )
  })

  it("fails when the port is not published", () => {
    const inspect = makeInspect({ networks: { ci: ciNet } })
    expectFailure(resolveEndpoint(context("gateway_ip"), inspect, http), /is not published/)
  })

  it("fails for a network without a gateway", () => {
    const inspect = makeInspect({
      networks: { internal: { NetworkID: "net-internal", IPAddress: "192.0.2.9" } },
      ports: ipv4Only
    })
    expectFailure(resolveEndpoint(context("gateway_ip"), inspect, http), /network internal has no gateway/)
  })
})

describe("host network containers", () => {
  const hostNetwork = makeInspect({ networkMode: "host", networks: { host: { NetworkID: "net-host" } } })

  it("use the engine host in docker_host mode", () => {
    expectEndpoint(resolveEndpoint(context("docker_host"), hostNetwork, http), "localhost", 8080)
  })

  it("use the engine address in gateway_ip mode", () => {
    const known = context("gateway_ip", { engineHostAddress: "192.0.2.1" })
    expectEndpoint(resolveEndpoint(known, hostNetwork, http), "192.0.2.1", 8080)
  })

  it("fail when the engine address is unknown", () => {
    expectFailure(resolveEndpoint(context("bridge_ip"), hostNetwork, http), /uses the host network/)
  })
})

it("rejects a shared network stack", () => {
  const inspect = makeInspect({ networkMode: "container:abc123" })
  expectFailure(
    resolveEndpoint(context("bridge_ip"), inspect, http),
    /shares the network stack of container abc123/
  )
})
