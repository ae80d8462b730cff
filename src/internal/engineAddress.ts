/**
 * Parsing of Docker engine addresses as written in `DOCKER_HOST`.
 */
import { Result } from "effect"

/** An engine address: a unix socket, a TCP address or an SSH host. */
export type EngineAddress =
  | { readonly _tag: "Socket"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  | { readonly _tag: "Ssh"; readonly host: string; readonly port: number; readonly username: string | undefined }

/** Default socket paths tried, in order, when `DOCKER_HOST` is not set. */
export const defaultSocketPaths = (env: {
  readonly HOME?: string | undefined
  readonly XDG_RUNTIME_DIR?: string | undefined
}): ReadonlyArray<string> => {
  const paths = ["/var/run/docker.sock"]
  if (env.HOME) {
    paths.push(`${env.HOME}/.docker/run/docker.sock`, `${env.HOME}/.docker/desktop/docker.sock`)
  }
  if (env.XDG_RUNTIME_DIR) {
    paths.push(`${env.XDG_RUNTIME_DIR}/docker.sock`)
  }
  return paths
}

/**
 * Parses a `DOCKER_HOST` value: `unix:///path`, a bare absolute socket path,
 * `tcp://host[:port]` or `ssh://[user@]host[:port]`. Fails with a sentence that
 * names the value and the accepted forms.
 */
export const parseEngineAddress = (value: string): Result.Result<EngineAddress, string> => {
  const trimmed = value.trim()
  const accepted = "expected unix:///path/to/docker.sock, an absolute socket path, tcp://host:port or ssh://user@host"

  if (trimmed.startsWith("/")) {
    return Result.succeed({ _tag: "Socket", path: trimmed })
  }
  if (trimmed.startsWith("unix://")) {
    const path = trimmed.slice("unix://".length)
    return path.startsWith("/")
      ? Result.succeed({ _tag: "Socket", path })
      : Result.fail(`invalid DOCKER_HOST ${JSON.stringify(value)}: the socket path must be absolute; ${accepted}`)
  }

  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return Result.fail(`invalid DOCKER_HOST ${JSON.stringify(value)}: ${accepted}`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  if (host === "") {
    return Result.fail(`invalid DOCKER_HOST ${JSON.stringify(value)}: the host name is missing; ${accepted}`)
  }

  switch (url.protocol) {
    case "tcp:":
    case "http:":
    case "https:": {
      const defaultPort = url.protocol === "https:" ? 2376 : 2375
      const port = url.port === "" ? defaultPort : Number(url.port)
      return Result.succeed({ _tag: "Tcp", host, port })
    }
    case "ssh:": {
      const port = url.port === "" ? 22 : Number(url.port)
      return Result.succeed({ _tag: "Ssh", host, port, username: url.username === "" ? undefined : url.username })
    }
    default:
      return Result.fail(
        `invalid DOCKER_HOST ${JSON.stringify(value)}: unsupported scheme ${url.protocol.replace(":", "")}; ${accepted}`
      )
  }
}

/** Renders an address the way `DOCKER_HOST` would spell it. */
export const formatEngineAddress = (address: EngineAddress): string => {
  switch (address._tag) {
    case "Socket":
      return `unix://${address.path}`
    case "Tcp":
      return `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
    case "Ssh":
      return `ssh://${address.username ? `${address.username}@` : ""}${address.host}:${address.port}`
  }
}

/**
 * The host name under which the engine publishes mapped ports: `localhost` for
 * a local socket, otherwise the host of the TCP or SSH address.
 */
export const engineHostName = (address: EngineAddress): string => address._tag === "Socket" ? "localhost" : address.host

/** Compares two Docker API versions such as `1.41` and `1.44`. */
export const compareApiVersions = (left: string, right: string): number => {
  const [leftMajor = 0, leftMinor = 0] = left.split(".").map(Number)
  const [rightMajor = 0, rightMinor = 0] = right.split(".").map(Number)
  return leftMajor !== rightMajor ? leftMajor - rightMajor : leftMinor - rightMinor
}
