/**
 * The demo: a web server and a client on a user-defined network. The client
 * fetches the page by the alias `web`; the test process fetches it through
 * the endpoint the connection mode gives. Everything is removed at the end.
 *
 * Run with `npm run demo`. Set DEMO_IMAGE to use another image with sh,
 * httpd and wget, such as the public `busybox:1.37`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { ConnectionMode, Container, Network, Testcontainers, Wait } from "../src/index.ts"

const image = process.env.DEMO_IMAGE ?? "effect-testcontainers/toolbox:1"

const program = Effect.gen(function*() {
  const network = yield* Network.make()
  yield* Console.log(`Network ${network.name} (${network.id.slice(0, 12)})`)

  const web = yield* Container.make(image).pipe(
    Container.withNetwork(network, { aliases: ["web"] }),
    Container.withExposedPorts(8080),
    Container.withCommand([
      "sh",
      "-c",
      "mkdir -p /www && echo \"hello from web ($(hostname))\" > /www/index.html && exec httpd -f -p 8080 -h /www"
    ]),
    Container.withWaitStrategy(Wait.forListeningPorts()),
    Container.start
  )
  yield* Console.log(`Started web    ${web.id.slice(0, 12)} on ${web.networkNames.join(", ")} as alias "web"`)

  const client = yield* Container.make(image).pipe(
    Container.withNetwork(network, { aliases: ["client"] }),
    Container.withCommand(["sleep", "3600"]),
    Container.start
  )
  yield* Console.log(`Started client ${client.id.slice(0, 12)}`)

  const fromPeer = yield* client.exec(["wget", "-qO-", "http://web:8080/"])
  yield* Console.log(`Client fetched http://web:8080/ -> ${fromPeer.stdout.trim()} (exit code ${fromPeer.exitCode})`)

  const endpoint = yield* web.endpoint(8080)
  const connection = yield* ConnectionMode.ConnectionMode
  const url = `http://${endpoint.host}:${endpoint.port}/`
  const body = yield* Effect.tryPromise(() => fetch(url).then((response) => response.text()))
  yield* Console.log(`Test process (connection mode ${connection.mode}) fetched ${url} -> ${body.trim()}`)
}).pipe(
  Effect.scoped,
  Effect.andThen(Console.log("Released the containers and the network."))
)

NodeRuntime.runMain(program.pipe(Effect.provide(Testcontainers.layer)))
