import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Schedule, Scope } from "effect"
import * as Net from "node:net"
import { ConnectionMode, Container, DockerEngine, Network, Wait } from "../src/index.ts"
import { labels, sessionId } from "../src/services/DockerEngine.ts"
import { fetchText, freePort, httpd, sessionResources, socketProxy, TestLayer, toolbox } from "./helpers.ts"

const expectNothingLeft = Effect.gen(function*() {
  const left = yield* sessionResources
  assert.strictEqual(left.containers, 0, "containers left behind")
  assert.strictEqual(left.networks, 0, "networks left behind")
})

const sleeper = (network: Network.StartedNetwork, aliases: ReadonlyArray<string> = []) =>
  Container.make(toolbox).pipe(
    Container.withNetwork(network, { aliases }),
    Container.withCommand(["sleep", "3600"]),
    Container.start
  )

const web = (port = 8080, text = "ok") =>
  Container.make(toolbox).pipe(Container.withExposedPorts(port), Container.withCommand(httpd(port, text)))

layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("Container", (it) => {
  it.effect("alias resolves from a peer", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const network = yield* Network.make()
        yield* web(8080, "served by web").pipe(Container.withNetwork(network, { aliases: ["web"] }), Container.start)
        const peer = yield* sleeper(network)

        const result = yield* peer.exec(["wget", "-qO-", "http://web:8080/"])

        assert.strictEqual(result.exitCode, 0, result.stderr)
        assert.strictEqual(result.stdout.trim(), "served by web")
      }))
      yield* expectNothingLeft
    }))

  it.effect("two networks answer on each alias", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const front = yield* Network.make()
        const back = yield* Network.make()
        const server = yield* web(8080, "two networks").pipe(
          Container.withNetwork(front, { aliases: ["api"] }),
          Container.withNetwork(back, { aliases: ["api-internal", "api-db-side"] }),
          Container.start
        )
        const frontPeer = yield* sleeper(front)
        const backPeer = yield* sleeper(back)

        assert.deepStrictEqual([...server.networkNames].sort(), [front.name, back.name].sort())
        const viaFront = yield* frontPeer.exec(["wget", "-qO-", "http://api:8080/"])
        assert.strictEqual(viaFront.stdout.trim(), "two networks")
        const viaBack = yield* backPeer.exec(["wget", "-qO-", "http://api-internal:8080/"])
        assert.strictEqual(viaBack.stdout.trim(), "two networks")
        const secondAlias = yield* backPeer.exec(["wget", "-qO-", "http://api-db-side:8080/"])
        assert.strictEqual(secondAlias.stdout.trim(), "two networks")
        const crossed = yield* frontPeer.exec(["nslookup", "api-internal"])
        assert.notStrictEqual(crossed.exitCode, 0, "an alias of the back network must not resolve on the front one")

        const inspect = yield* server.inspect
        assert.isFalse("bridge" in (inspect.NetworkSettings.Networks ?? {}), "must not join the default bridge")
      }))
      yield* expectNothingLeft
    }))

  it.effect("IP address per network", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* Network.make()
        const second = yield* Network.make()
        const server = yield* web().pipe(
          Container.withNetwork(first),
          Container.withNetwork(second),
          Container.start
        )
        const firstIp = yield* server.ipAddress(first)
        const secondIp = yield* server.ipAddress(second.name)
        assert.notStrictEqual(firstIp, secondIp)
        const firstSubnet = Option.getOrThrow(first.subnet).split(".").slice(0, 2).join(".")
        assert.isTrue(firstIp.startsWith(firstSubnet), `${firstIp} is not in ${Option.getOrThrow(first.subnet)}`)
        const missing = yield* Effect.flip(server.ipAddress("no-such-network"))
        assert.include(missing.message, "no-such-network")
        assert.include(missing.message, first.name)

        const peer = yield* sleeper(second)
        const byIp = yield* peer.exec(["wget", "-qO-", `http://${secondIp}:8080/`])
        assert.strictEqual(byIp.stdout.trim(), "ok")
      }))
      yield* expectNothingLeft
    }))

  it.effect("mapped port differs and answers", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* web(8080, "mapped").pipe(Container.start)
        const mapped = yield* server.mappedPort(8080)
        const sameWithProtocol = yield* server.mappedPort("8080/tcp")
        assert.strictEqual(mapped, sameWithProtocol)
        assert.notStrictEqual(mapped, 8080)
        const endpoint = yield* server.endpoint(8080)
        assert.strictEqual(endpoint.port, mapped)
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "mapped")

        const missing = yield* Effect.flip(server.mappedPort(9999))
        assert.strictEqual(missing._tag, "EndpointError")
        assert.include(missing.message, "9999")
      }))
      yield* expectNothingLeft
    }))

  it.effect("fixed host binding", () =>
    Effect.gen(function*() {
      const hostPort = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* Container.make(toolbox).pipe(
          Container.withCommand(httpd(443, "fixed")),
          Container.withPortBinding("443/tcp", hostPort),
          Container.start
        )
        assert.strictEqual(yield* server.mappedPort("443/tcp"), hostPort)
        assert.strictEqual(yield* fetchText(`http://127.0.0.1:${hostPort}/`), "fixed")
      }))
      yield* expectNothingLeft
    }))

  it.effect("network mode host", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* Container.make(toolbox).pipe(
          Container.withNetworkMode("host"),
          Container.withCommand(httpd(port, "host mode")),
          Container.withWaitStrategy(Wait.forListeningPorts(port)),
          Container.start
        )
        assert.deepStrictEqual(server.networkNames, ["host"])
        assert.strictEqual(yield* fetchText(`http://127.0.0.1:${port}/`), "host mode")
      }))
      yield* expectNothingLeft
    }))

  it.effect("port wait outlasts the userland proxy", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const startedAt = Date.now()
        const server = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "sleep 2; " + httpd(8080, "late")[2]]),
          Container.start
        )
        const elapsed = Date.now() - startedAt
        assert.isAtLeast(elapsed, 2000, "ready before the server listened")
        const endpoint = yield* server.endpoint(8080)
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "late")
      }))

      // The same container with no port wait: the engine accepts a TCP
      // connection on the mapped port while nothing listens yet inside.
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "sleep 2; " + httpd(8080, "late")[2]]),
          Container.withWaitStrategy(Wait.forRunning),
          Container.start
        )
        const endpoint = yield* server.endpoint(8080)
        const early = yield* Effect.exit(fetchText(`http://${endpoint.host}:${endpoint.port}/`))
        assert.isTrue(Exit.isFailure(early), "the server answered before it listened")
      }))
      yield* expectNothingLeft
    }))

  it.effect("log message wait counts lines", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const startedAt = Date.now()
        const server = yield* Container.make(toolbox).pipe(
          Container.withCommand(["sh", "-c", "echo ready; sleep 1; echo ready >&2; sleep 3600"]),
          Container.withWaitStrategy(Wait.forLogMessage(/^ready$/, 2)),
          Container.start
        )
        assert.isAtLeast(Date.now() - startedAt, 1000)
        const logs = yield* server.logs
        assert.strictEqual(logs.match(/ready/g)?.length, 2)
      }))
      yield* expectNothingLeft
    }))

  it.effect("HTTP wait", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "sleep 1; " + httpd(8080, "http wait")[2]]),
          Container.withWaitStrategy(Wait.forHttp("/index.html", 8080)),
          Container.start
        )
        const endpoint = yield* server.endpoint(8080)
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "http wait")
      }))
      yield* expectNothingLeft
    }))

  it.effect("wait timeout removes the container", () =>
    Effect.gen(function*() {
      const error = yield* Container.make(toolbox).pipe(
        Container.withName(`etc-timeout-${sessionId.slice(0, 8)}`),
        Container.withCommand(["sh", "-c", "echo starting up; echo still waiting; sleep 3600"]),
        Container.withWaitStrategy(Wait.forLogMessage("never printed")),
        Container.withStartupTimeout("1500 millis"),
        Container.start,
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(error._tag, "StartupTimeoutError")
      assert.include(error.message, `etc-timeout-${sessionId.slice(0, 8)}`)
      assert.include(error.message, "1s 500ms")
      assert.include(error.message, "still waiting")
      assert.include(error.message, "never printed")
      yield* expectNothingLeft
    }))

  it.effect("failed wait removes at once", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const error = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "echo about to fail >&2; exit 3"]),
          Container.start,
          Effect.flip
        )
        assert.strictEqual(error._tag, "ContainerExitedError")
        assert.include(error.message, "exited with code 3")
        assert.include(error.message, "about to fail")
        // The outer scope is still open: the failed container is gone already.
        const left = yield* sessionResources
        assert.strictEqual(left.containers, 0)
      }))
      yield* expectNothingLeft
    }))

  it.effect("interruption mid-start leaves nothing", () =>
    Effect.gen(function*() {
      const engine = yield* DockerEngine.DockerEngine
      for (const delay of [0, 5, 20, 60, 150, 400]) {
        const fiber = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "sleep 3600"]),
          Container.start,
          Effect.scoped,
          Effect.forkChild
        )
        yield* Effect.sleep(delay)
        const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause), `delay ${delay} ms`)
        yield* expectNothingLeft
      }

      // Interrupt once the engine has the container, while the wait runs.
      const fiber = yield* Container.make(toolbox).pipe(
        Container.withExposedPorts(8080),
        Container.withCommand(["sh", "-c", "sleep 3600"]),
        Container.start,
        Effect.scoped,
        Effect.forkChild
      )
      const filters = JSON.stringify({ label: [`${labels.session}=${sessionId}`], status: ["running"] })
      yield* engine.call("container list", "session", (client) => client.listContainers({ filters })).pipe(
        Effect.filterOrFail((list) => list.length > 0),
        Effect.retry(Schedule.spaced("20 millis"))
      )
      yield* Fiber.interrupt(fiber)
      yield* expectNothingLeft
    }))

  it.effect("parallel starts on own networks", () =>
    Effect.gen(function*() {
      const results = yield* Effect.forEach([1, 2, 3, 4], (index) =>
        Effect.scoped(Effect.gen(function*() {
          const network = yield* Network.make()
          yield* web(8080, `site ${index}`).pipe(Container.withNetwork(network, { aliases: ["site"] }), Container.start)
          const peer = yield* sleeper(network)
          const result = yield* peer.exec(["wget", "-qO-", "http://site:8080/"])
          return result.stdout.trim()
        })), { concurrency: "unbounded" })
      assert.deepStrictEqual(results, ["site 1", "site 2", "site 3", "site 4"])
      yield* expectNothingLeft
    }))

  it.effect("network removal waits for containers", () =>
    Effect.gen(function*() {
      const networkScope = yield* Scope.make()
      const containerScope = yield* Scope.make()
      const network = yield* Network.make().pipe(Scope.provide(networkScope))
      yield* sleeper(network, ["lingering"]).pipe(Scope.provide(containerScope))

      // Close the network's scope first: removal retries while the container
      // is still attached, and succeeds once the container is gone.
      const closing = yield* Scope.close(networkScope, Exit.void).pipe(Effect.forkChild)
      yield* Effect.sleep("1 second")
      assert.strictEqual((yield* sessionResources).networks, 1, "removed while a container was attached")

      yield* Scope.close(containerScope, Exit.void)
      yield* Fiber.join(closing)
      yield* expectNothingLeft
    }))

  it.effect("startAll starts and removes together", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const network = yield* Network.make()
        const started = yield* Container.startAll(
          [1, 2, 3, 4, 5].map((index) => web(8080, `replica ${index}`).pipe(Container.withNetwork(network)))
        )
        assert.strictEqual(started.length, 5)
        const bodies = yield* Effect.forEach(started, (container) =>
          Effect.flatMap(container.endpoint(8080), (endpoint) =>
            fetchText(`http://${endpoint.host}:${endpoint.port}/`)))
        assert.deepStrictEqual(bodies, ["replica 1", "replica 2", "replica 3", "replica 4", "replica 5"])

        // A tuple of specs gives a tuple: each element is typed as started.
        const [first, second] = yield* Container.startAll([web(8080, "first"), web(8080, "second")])
        assert.notStrictEqual(first.id, second.id)
      }))
      yield* expectNothingLeft

      yield* Effect.scoped(Effect.gen(function*() {
        const error = yield* Container.startAll([
          web(8080, "fine"),
          Container.make(toolbox).pipe(
            Container.withExposedPorts(8080),
            Container.withCommand(["sh", "-c", "exit 4"])
          )
        ]).pipe(Effect.flip)
        assert.strictEqual(error._tag, "ContainerExitedError")
        assert.strictEqual((yield* sessionResources).containers, 0, "the started one must be removed at once")
      }))
      yield* expectNothingLeft
    }))

  it.effect("exec of a missing command fails", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const container = yield* Container.make(toolbox).pipe(Container.withCommand(["sleep", "3600"]), Container.start)

        const error = yield* Effect.flip(container.exec(["no-such-binary", "--version"]))
        assert.strictEqual(error._tag, "ExecError")
        assert.include(error.message, "no-such-binary")
        assert.include(error.engineMessage, "executable file not found")

        const shellExit = yield* container.exec(["sh", "-c", "echo to stderr >&2; exit 127"])
        assert.strictEqual(shellExit.exitCode, 127, "a command's own exit code 127 is a result, not an error")
        assert.strictEqual(shellExit.stderr.trim(), "to stderr")
      }))
      yield* expectNothingLeft
    }))

  it.effect("network options reach the engine", () =>
    Effect.gen(function*() {
      const engine = yield* DockerEngine.DockerEngine
      const name = `etc-options-${sessionId.slice(0, 8)}`
      yield* Effect.scoped(Effect.gen(function*() {
        const network = yield* Network.make({ name, internal: true, labels: { team: "payments" } })
        assert.strictEqual(network.name, name)
        assert.isTrue(network.internal)
        assert.isTrue(Option.isSome(network.gateway))

        const inspect = yield* engine.call("network inspect", name, (client) => client.getNetwork(network.id).inspect())
        assert.strictEqual(inspect.Internal, true)
        assert.strictEqual(inspect.Labels?.["team"], "payments")
        assert.strictEqual(inspect.Labels?.[labels.session], sessionId)
      }))
      yield* expectNothingLeft

      const invalid = yield* Effect.flip(Effect.scoped(Network.make({ name: "my net" })))
      assert.strictEqual(invalid._tag, "InvalidSpecError")
      assert.include(invalid.message, "\"my net\"")
    }))

  it.effect("missing image with pull policy never", () =>
    Effect.gen(function*() {
      const error = yield* Container.make("effect-testcontainers/does-not-exist:1").pipe(
        Container.withPullPolicy("never"),
        Container.start,
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(error._tag, "ImageNotFoundError")
      assert.include(error.message, "effect-testcontainers/does-not-exist:1")
      yield* expectNothingLeft
    }))
})

describe("test clock", () => {
  it.effect("start keeps wall-clock time", () =>
    Effect.gen(function*() {
      const server = yield* Container.make(toolbox).pipe(
        Container.withExposedPorts(8080),
        Container.withCommand(["sh", "-c", "sleep 1; " + httpd(8080, "wall clock")[2]]),
        Container.withWaitStrategy(Wait.forHttp("/", 8080)),
        Container.start
      )
      const endpoint = yield* server.endpoint(8080)
      assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "wall clock")

      const result = yield* server.exec(["sh", "-c", "echo $GREETING from $(pwd) as $(id -u)"], {
        env: { GREETING: "hello" },
        workingDir: "/tmp",
        user: "65534"
      })
      assert.strictEqual(result.stdout.trim(), "hello from /tmp as 65534")
    }).pipe(Effect.provide(TestLayer)), 60_000)
})

describe("port wait over a TCP engine", () => {
  // Over TCP the engine is treated as remote, so the port wait reads
  // /proc/net/tcp with an exec instead of from this host.
  it.live("exec check outlasts the userland proxy", () =>
    Effect.gen(function*() {
      const proxy = yield* socketProxy
      const address = proxy.server.address() as Net.AddressInfo
      const RemoteEngine = ConnectionMode.layer("docker_host").pipe(
        Layer.provideMerge(DockerEngine.layer({ dockerHost: `tcp://127.0.0.1:${address.port}` }))
      )

      yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* DockerEngine.DockerEngine
        assert.strictEqual(engine.address._tag, "Tcp")
        const startedAt = Date.now()
        const server = yield* Container.make(toolbox).pipe(
          Container.withExposedPorts(8080),
          Container.withCommand(["sh", "-c", "sleep 2; " + httpd(8080, "late over tcp")[2]]),
          Container.start
        )
        assert.isAtLeast(Date.now() - startedAt, 2000, "ready before the server listened")
        const endpoint = yield* server.endpoint(8080)
        assert.strictEqual(yield* fetchText(`http://127.0.0.1:${endpoint.port}/`), "late over tcp")
      })).pipe(Effect.provide(RemoteEngine))
    }).pipe(Effect.scoped))
})

class WebServer extends Context.Service<WebServer, Container.StartedContainer>()("test/WebServer") {}

const WebServerLayer = Container.layer(WebServer, web(8080, "from a layer"))

describe("Container.layer", () => {
  layer(WebServerLayer.pipe(Layer.provideMerge(TestLayer)), { excludeTestServices: true })((it) => {
    it.effect("provides the started container", () =>
      Effect.gen(function*() {
        const server = yield* WebServer
        const endpoint = yield* server.endpoint(8080)
        assert.strictEqual(yield* fetchText(`http://${endpoint.host}:${endpoint.port}/`), "from a layer")
      }))
  })
})
