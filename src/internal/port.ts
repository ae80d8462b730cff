/**
 * Container port values: `5432`, `"5432"`, `"443/tcp"`, `"53/udp"`.
 */

/** Transport protocols the engine publishes ports for. */
export type Protocol = "tcp" | "udp" | "sctp"

/** A port as users write it: a number, or a string with an optional protocol. */
export type PortInput = number | `${number}` | `${number}/${Protocol}`

/** A parsed container port. */
export interface ContainerPort {
  readonly port: number
  readonly protocol: Protocol
}

const portPattern = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/

/** Parses a port value. Returns `undefined` when it is not a valid port. */
export const parsePort = (input: PortInput | string | number): ContainerPort | undefined => {
  if (typeof input === "number") {
    return Number.isInteger(input) && input >= 1 && input <= 65535 ? { port: input, protocol: "tcp" } : undefined
  }
  const match = portPattern.exec(input.trim())
  if (match === null) {
    return undefined
  }
  const port = Number(match[1])
  if (port < 1 || port > 65535) {
    return undefined
  }
  return { port, protocol: (match[2] ?? "tcp") as Protocol }
}

/** The engine's key for a port, such as `5432/tcp`. */
export const portKey = (port: ContainerPort): string => `${port.port}/${port.protocol}`
