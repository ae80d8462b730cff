/**
 * Connection modes on the engine host: each mode forced by the variable and
 * by the properties file, detection, split IPv4 and IPv6 ports, and an engine
 * reached over TCP. Every check fetches a token from the resolved endpoint.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Schedule, Schema } from "effect"
import * as Crypto from "node:crypto"
import * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Container from "../src/Container.ts"
import { ContainerInspect } from "../src/internal/inspect.ts"
import * as ConnectionMode from "../src/services/ConnectionMode.ts"
import * as DockerEngine from "../src/services/DockerEngine.ts"
import * as TestcontainersConfig from "../src/services/TestcontainersConfig.ts"
import { fetchText, freePort, httpd, socketProxy, toolbox } from "./helpers.ts"

const modes = ["bridge_ip", "gateway_ip", "docker_host"] as const
const missingFile = "/nonexistent/.testcontainers.properties"

// A temporary properties file, removed when the test's scope closes.
const propertiesFile = (contents: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "connection-mode-"))
      const path = TestcontainersConfig.defaultPropertiesPath(home)
      Fs.writeFileSync(path, contents)
      return path
    }),
    (path) => Effect.sync(() => Fs.rmSync(Path.dirname(path), { recursive: true, force: true }))
  )

// The engine client and the connection mode as users get them, with one
// ConfigProvider for both.
const stack = (options: TestcontainersConfig.TestcontainersConfigOptions) =>
  ConnectionMode.layerConfig().pipe(
    Layer.provideMerge(DockerEngine.layerFromEnv),
    Layer.provide(TestcontainersConfig.layer(options))
  )

const httpServer = (token: string) =>
  Container.make(toolbox).pipe(
    Container.withCommand(httpd(8080, token)),
    Container.withExposedPorts(8080),
    Container.start
  )

const urlOf = (endpoint: ConnectionMode.Endpoint) =>
  `http://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}/`

// Starts a server, resolves its endpoint under the mode in force and fetches
// the token from it.
const roundTrip = Effect.gen(function*() {
  const connection = yield* ConnectionMode.ConnectionMode
  const token = `token-${Crypto.randomBytes(4).toString("hex")}`
  const server = yield* httpServer(token)
  const endpoint = yield* server.endpoint(8080)
  const body = yield* fetchText(urlOf(endpoint))
  return { connection, server, endpoint, body, token }
})

const expectEndpointOfMode = (result: Effect.Success<typeof roundTrip>) => {
  const { connection, endpoint, server } = result
  const network = Object.values(server.inspectData.NetworkSettings.Networks ?? {})[0]
  const published = server.inspectData.NetworkSettings.Ports?.["8080/tcp"]?.[0]?.HostPort
  switch (connection.mode) {
    case "bridge_ip":
      assert.strictEqual(endpoint.host, network?.IPAddress)
      assert.strictEqual(endpoint.port, 8080)
      break
    case "gateway_ip":
      assert.strictEqual(endpoint.host, network?.Gateway)
      assert.strictEqual(String(endpoint.port), published)
      break
    case "docker_host":
      assert.include(["localhost", "127.0.0.1"], endpoint.host)
      assert.strictEqual(String(endpoint.port), published)
      break
  }
}

describe("connection mode on the host", () => {
  for (const mode of modes) {
    it.live(`forces ${mode} with the variable`, () =>
      Effect.gen(function*() {
        const result = yield* roundTrip.pipe(
          Effect.provide(stack({ env: { TESTCONTAINERS_CONNECTION_MODE: mode }, propertiesPath: missingFile }))
        )
        assert.strictEqual(result.connection.mode, mode)
        assert.strictEqual(result.connection.reason, "set by environment variable TESTCONTAINERS_CONNECTION_MODE")
        expectEndpointOfMode(result)
        assert.strictEqual(result.body, result.token)
      }).pipe(Effect.scoped))

    it.live(`forces ${mode} with the file`, () =>
      Effect.gen(function*() {
        const path = yield* propertiesFile(`# chosen by the test\nconnection.mode=${mode}\n`)
        const result = yield* roundTrip.pipe(Effect.provide(stack({ env: {}, propertiesPath: path })))
        assert.strictEqual(result.connection.mode, mode)
        assert.strictEqual(result.connection.reason, `set by connection.mode on line 2 of ${path}`)
        expectEndpointOfMode(result)
        assert.strictEqual(result.body, result.token)
      }).pipe(Effect.scoped))
  }

  it.live("detects a reachable mode", () =>
    Effect.gen(function*() {
      const result = yield* roundTrip.pipe(Effect.provide(stack({ env: {}, propertiesPath: missingFile })))
      expectEndpointOfMode(result)
      assert.strictEqual(result.body, result.token)
    }).pipe(Effect.scoped))

  it.live("logs the mode once", () =>
    Effect.gen(function*() {
      const messages: Array<string> = []
      const collector = Logger.make((options) => {
        messages.push(Array.isArray(options.message) ? options.message.join(" ") : String(options.message))
      })
      const result = yield* Effect.gen(function*() {
        const first = yield* roundTrip
        yield* first.server.endpoint(8080)
        yield* first.server.endpoint(8080)
        return first
      }).pipe(
        Effect.provide(stack({ env: { TESTCONTAINERS_CONNECTION_MODE: "gateway_ip" }, propertiesPath: missingFile })),
        Effect.provide(Logger.layer([collector]))
      )
      const modeLines = messages.filter((message) => message.startsWith("Connection mode "))
      assert.deepStrictEqual(modeLines, [
        "Connection mode gateway_ip: set by environment variable TESTCONTAINERS_CONNECTION_MODE"
      ])
      assert.strictEqual(result.body, result.token)
    }).pipe(Effect.scoped))

  it.live("rejects an invalid variable", () =>
    Effect.gen(function*() {
      const error = yield* roundTrip.pipe(
        Effect.provide(stack({ env: { TESTCONTAINERS_CONNECTION_MODE: "bridge" }, propertiesPath: missingFile })),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "environment variable TESTCONTAINERS_CONNECTION_MODE")
    }).pipe(Effect.scoped))
})

// A container created through dockerode with different host ports for
// 0.0.0.0 and ::, which Container.withPortBinding cannot express.
const splitServer = (token: string, ipv4Port: number, ipv6Port: number) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine.DockerEngine
    const id = yield* Effect.acquireRelease(
      engine.call("container create", "split-ports", (client) =>
        client.createContainer({
          Image: toolbox,
          Cmd: [...httpd(8080, token)],
          Labels: { ...DockerEngine.sessionLabels },
          ExposedPorts: { "8080/tcp": {} },
          HostConfig: {
            PortBindings: {
              "8080/tcp": [
                { HostIp: "0.0.0.0", HostPort: String(ipv4Port) },
                { HostIp: "::", HostPort: String(ipv6Port) }
              ]
            }
          }
        })).pipe(Effect.map((container) => container.id)),
      (id) =>
        engine.call("container remove", id, (client) => client.getContainer(id).remove({ force: true })).pipe(
          Effect.ignore
        )
    )
    yield* engine.call("container start", id, (client) => client.getContainer(id).start())
    const raw = yield* engine.call("container inspect", id, (client) => client.getContainer(id).inspect())
    return yield* Schema.decodeUnknownEffect(ContainerInspect)(raw)
  })

// Retries a fetch for up to 5 seconds while busybox httpd starts.
const fetchWhenReady = (url: string) =>
  fetchText(url).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }))

describe("split IPv4 and IPv6 ports", () => {
  const ipv6Loopback = Effect.callback<boolean>((resume) => {
    const server = Net.createServer()
    server.once("error", () => resume(Effect.succeed(false)))
    server.listen(0, "::1", () => server.close(() => resume(Effect.succeed(true))))
  })

  it.live("dials the port of each family", () =>
    Effect.gen(function*() {
      const token = `split-${Crypto.randomBytes(4).toString("hex")}`
      const ipv4Port = yield* freePort
      let ipv6Port = yield* freePort
      while (ipv6Port === ipv4Port) {
        ipv6Port = yield* freePort
      }
      const inspect = yield* splitServer(token, ipv4Port, ipv6Port)
      const http = { port: 8080, protocol: "tcp" } as const

      const overIpv4 = yield* Effect.gen(function*() {
        const connection = yield* ConnectionMode.ConnectionMode
        return yield* connection.resolve(inspect, http)
      }).pipe(Effect.provide(ConnectionMode.layer({ mode: "docker_host", dockerHost: "localhost" })))
      // localhost keeps its name only when it resolves to IPv4 alone.
      const localhost = yield* Effect.promise(() => Dns.promises.lookup("localhost", { all: true }))
      const expectedHost = localhost.every((entry) => entry.family === 4) ? "localhost" : "127.0.0.1"
      assert.strictEqual(overIpv4.host, expectedHost)
      assert.strictEqual(overIpv4.port, ipv4Port)
      assert.strictEqual(yield* fetchWhenReady(urlOf(overIpv4)), token)

      const overIpv6 = yield* Effect.gen(function*() {
        const connection = yield* ConnectionMode.ConnectionMode
        return yield* connection.resolve(inspect, http)
      }).pipe(Effect.provide(ConnectionMode.layer({ mode: "docker_host", dockerHost: "::1" })))
      assert.strictEqual(overIpv6.host, "::1")
      assert.strictEqual(overIpv6.port, ipv6Port)
      if (yield* ipv6Loopback) {
        assert.strictEqual(yield* fetchWhenReady(urlOf(overIpv6)), token)
      }
    }).pipe(Effect.scoped, Effect.provide(DockerEngine.layer())))
})

// A loopback TCP listener that pipes every connection to the engine socket.
// Closing the test's scope stops it and destroys the open connections, which
// the engine client keeps alive.
describe("engine over TCP", () => {
  it.live("detects docker_host with the TCP host", () =>
    Effect.gen(function*() {
      const proxy = yield* socketProxy
      const address = proxy.server.address() as Net.AddressInfo
      const dockerHost = `tcp://127.0.0.1:${address.port}`
      const result = yield* roundTrip.pipe(
        Effect.provide(stack({ env: { DOCKER_HOST: dockerHost }, propertiesPath: missingFile }))
      )
      assert.strictEqual(result.connection.mode, "docker_host")
      assert.strictEqual(result.connection.dockerHost, "127.0.0.1")
      assert.include(result.connection.reason, `${dockerHost} (DOCKER_HOST)`)
      assert.strictEqual(result.endpoint.host, "127.0.0.1")
      assert.strictEqual(result.body, result.token)
    }).pipe(Effect.scoped))

  it.live("reads docker.host from the file", () =>
    Effect.gen(function*() {
      const proxy = yield* socketProxy
      const address = proxy.server.address() as Net.AddressInfo
      const path = yield* propertiesFile(`docker.host = tcp://127.0.0.1:${address.port}\n`)
      const result = yield* roundTrip.pipe(Effect.provide(stack({ env: {}, propertiesPath: path })))
      assert.strictEqual(result.connection.mode, "docker_host")
      assert.strictEqual(result.endpoint.host, "127.0.0.1")
      assert.strictEqual(result.body, result.token)
    }).pipe(Effect.scoped))
})
