/**
 * Shared fixtures of the engine tests: the Layer, the toolbox image and a
 * count of what this session left on the engine.
 */
import { Effect } from "effect"
import * as Net from "node:net"
import { layer as TestcontainersLayer } from "../src/layers/Testcontainers.ts"
import { DockerEngine, labels, sessionId } from "../src/services/DockerEngine.ts"

/** The busybox image built by scripts/images.sh: sh, httpd, wget, nc, sleep. */
export const toolbox = "effect-testcontainers/toolbox:1"

/** The engine client and connection mode, as users get them. */
export const TestLayer = TestcontainersLayer

/** A shell command that serves `text` over HTTP on `port` with busybox httpd. */
export const httpd = (port: number, text = "ok"): ReadonlyArray<string> => [
  "sh",
  "-c",
  `mkdir -p /www && echo '${text}' > /www/index.html && exec httpd -f -p ${port} -h /www`
]

/** Counts the containers and networks carrying this session's label. */
export const sessionResources = Effect.gen(function*() {
  const engine = yield* DockerEngine
  const filters = JSON.stringify({ label: [`${labels.session}=${sessionId}`] })
  const containers = yield* engine.call(
    "container list",
    "session",
    (client) => client.listContainers({ all: true, filters })
  )
  const networks = yield* engine.call("network list", "session", (client) => client.listNetworks({ filters }))
  return { containers: containers.length, networks: networks.length }
})

/** Fetches a URL from the test process and returns the trimmed body. */
export const fetchText = (url: string) =>
  Effect.tryPromise((signal) =>
    fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) }).then((response) => response.text())
  ).pipe(Effect.map((text) => text.trim()))

/** Finds a free TCP port on the loopback interface. */
export const freePort = Effect.callback<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A loopback TCP listener that pipes every connection to the engine's unix
 * socket, so a test can reach the engine as `tcp://127.0.0.1:<port>`. It is
 * closed with its scope.
 */
export const socketProxy = Effect.acquireRelease(
  Effect.callback<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((client) => {
      const upstream = Net.connect("/var/run/docker.sock")
      sockets.add(client)
      sockets.add(upstream)
      client.on("close", () => sockets.delete(client))
      upstream.on("close", () => sockets.delete(upstream))
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
      client.pipe(upstream).pipe(client)
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.callback<void>((resume) => {
      server.close(() => resume(Effect.void))
      for (const socket of sockets) {
        socket.destroy()
      }
    })
)
