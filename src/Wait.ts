/**
 * Wait strategies: when a started container counts as ready.
 *
 * A wait strategy is plain data; `Container.start` runs it under the
 * container's startup timeout, which covers the whole start.
 *
 * @since 0.1.0
 */
import type { PortInput } from "./internal/port.ts"

/**
 * Ready when every listed TCP port (by default every exposed TCP port) has a
 * listening socket inside the container and a connection to its endpoint
 * from the test process succeeds.
 *
 * The inside check reads the container's `/proc/net/tcp`, because the
 * engine's userland proxy accepts connections on a mapped port even when
 * nothing listens behind it. With a local engine whose processes this
 * process can see, it reads the file from the host; otherwise it runs `cat`
 * in the container. Images without `cat` on a remote engine fall back to the
 * outside connection alone, and a warning is logged.
 *
 * @since 0.1.0
 */
export interface ListeningPorts {
  readonly _tag: "ListeningPorts"
  readonly ports: ReadonlyArray<PortInput> | undefined
}

/**
 * Ready when the container's output (stdout and stderr) has contained a line
 * matching `pattern` at least `times` times.
 *
 * @since 0.1.0
 */
export interface LogMessage {
  readonly _tag: "LogMessage"
  readonly pattern: RegExp
  readonly times: number
}

/**
 * Ready when an HTTP request to the port's endpoint answers with an expected
 * status.
 *
 * @since 0.1.0
 */
export interface Http {
  readonly _tag: "Http"
  readonly path: string
  readonly port: PortInput
  readonly method: string
  readonly statusCodes: ReadonlyArray<number>
}

/**
 * Ready when the engine reports the image's health check as `healthy`.
 *
 * @since 0.1.0
 */
export interface Healthcheck {
  readonly _tag: "Healthcheck"
}

/**
 * Ready as soon as the engine reports the container running.
 *
 * @since 0.1.0
 */
export interface Running {
  readonly _tag: "Running"
}

/**
 * Ready when every one of the strategies is ready; they run concurrently.
 *
 * @since 0.1.0
 */
export interface All {
  readonly _tag: "All"
  readonly strategies: ReadonlyArray<WaitStrategy>
}

/**
 * @since 0.1.0
 */
export type WaitStrategy = ListeningPorts | LogMessage | Http | Healthcheck | Running | All

/**
 * Waits for listening ports: the given ones, or every exposed TCP port.
 *
 * @since 0.1.0
 */
export const forListeningPorts = (...ports: ReadonlyArray<PortInput>): WaitStrategy => ({
  _tag: "ListeningPorts",
  ports: ports.length === 0 ? undefined : ports
})

/**
 * Waits for `times` output lines matching `pattern`. A string pattern is
 * matched as a regular expression.
 *
 * @since 0.1.0
 */
export const forLogMessage = (pattern: RegExp | string, times = 1): WaitStrategy => ({
  _tag: "LogMessage",
  pattern: typeof pattern === "string" ? new RegExp(pattern) : pattern,
  times
})

/**
 * Waits for an HTTP answer on `path` of `port`, by default `GET` with status 200.
 *
 * @since 0.1.0
 */
export const forHttp = (path: string, port: PortInput, options?: {
  readonly method?: string | undefined
  readonly statusCodes?: ReadonlyArray<number> | undefined
}): WaitStrategy => ({
  _tag: "Http",
  path: path.startsWith("/") ? path : `/${path}`,
  port,
  method: options?.method ?? "GET",
  statusCodes: options?.statusCodes ?? [200]
})

/**
 * Waits for the image's health check to report `healthy`.
 *
 * @since 0.1.0
 */
export const forHealthcheck: WaitStrategy = { _tag: "Healthcheck" }

/**
 * Does not wait beyond the container running.
 *
 * @since 0.1.0
 */
export const forRunning: WaitStrategy = { _tag: "Running" }

/**
 * Waits for every strategy.
 *
 * @since 0.1.0
 */
export const all = (...strategies: ReadonlyArray<WaitStrategy>): WaitStrategy => ({ _tag: "All", strategies })

/**
 * Describes a strategy for messages, such as `log message /ready/ (2 times)`.
 *
 * @since 0.1.0
 */
export const describe = (strategy: WaitStrategy): string => {
  switch (strategy._tag) {
    case "ListeningPorts":
      return strategy.ports === undefined
        ? "listening exposed ports"
        : `listening ports ${strategy.ports.map(String).join(", ")}`
    case "LogMessage":
      return `log message ${strategy.pattern} (${strategy.times} ${strategy.times === 1 ? "time" : "times"})`
    case "Http":
      return `HTTP ${strategy.method} ${strategy.path} on port ${strategy.port} answering ${
        strategy.statusCodes.join(" or ")
      }`
    case "Healthcheck":
      return "a healthy health check"
    case "Running":
      return "the container running"
    case "All":
      return strategy.strategies.map(describe).join(" and ")
  }
}
