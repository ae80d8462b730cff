/**
 * The benchmark's own readiness check: an HTTP GET from this process to the
 * container's published port, repeated until the server responds `200 ok`.
 */
import * as Http from "node:http"
import { setTimeout as sleep } from "node:timers/promises"

/** The host the probe dials: loopback, where the engine publishes container ports. */
export const probeHost = "127.0.0.1"

let probing = false

/**
 * Whether a socket being opened right now belongs to the benchmark's probe.
 * The engine-call recorder reads it to leave the probe out of its counts.
 */
export const isProbing = (): boolean => probing

/** Sends one GET and resolves whether the response was `200` with the body `ok`. */
export const probeOnce = (port: number, timeoutMillis = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    let settled = false
    const settle = (ok: boolean) => {
      if (!settled) {
        settled = true
        resolve(ok)
      }
    }
    probing = true
    // `agent: false` opens the socket synchronously, inside the `probing` window.
    const request = Http.get({ host: probeHost, port, path: "/", agent: false, timeout: timeoutMillis }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      response.on("end", () => settle(response.statusCode === 200 && body.trim() === "ok"))
      response.on("error", () => settle(false))
    })
    probing = false
    request.on("timeout", () => {
      request.destroy()
      settle(false)
    })
    request.on("error", () => settle(false))
  })

/**
 * Probes until the server responds, pausing `intervalMillis` between tries.
 * Returns the number of failed tries before the response. Rejects after
 * `timeoutMillis`.
 */
export const probeUntilReady = async (
  port: number,
  intervalMillis: number,
  timeoutMillis: number
): Promise<number> => {
  const deadline = performance.now() + timeoutMillis
  let failures = 0
  while (!(await probeOnce(port))) {
    failures += 1
    if (performance.now() > deadline) {
      throw new Error(`no HTTP response from ${probeHost}:${port} within ${timeoutMillis} ms`)
    }
    await sleep(intervalMillis)
  }
  return failures
}
