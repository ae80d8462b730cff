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
