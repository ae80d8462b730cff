/**
 * Pure helpers for engine output: multiplexed log frames and `/proc/net/tcp`.
 */

/**
 * Splits a multiplexed attach or logs payload into stdout and stderr. Each
 * frame is an 8-byte header (stream type, three zero bytes, big-endian
 * length) followed by the payload. A payload that does not start with a valid
 * header is returned whole as stdout, as the engine sends for TTY containers.
 */
export const demultiplex = (buffer: Buffer): { readonly stdout: string; readonly stderr: string } => {
  const stdout: Array<Buffer> = []
  const stderr: Array<Buffer> = []
  let offset = 0

  while (offset + 8 <= buffer.length) {
    const type = buffer[offset]
    const padding = buffer.readUIntBE(offset + 1, 3)
    if ((type !== 0 && type !== 1 && type !== 2) || padding !== 0) {
      if (offset === 0) {
        return { stdout: buffer.toString("utf8"), stderr: "" }
      }
      break
    }
    const length = buffer.readUInt32BE(offset + 4)
    const payload = buffer.subarray(offset + 8, offset + 8 + length)
    if (type === 2) {
      stderr.push(payload)
    } else {
      stdout.push(payload)
    }
    offset += 8 + length
  }

  return { stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }
}

/** The TCP state code of a listening socket in `/proc/net/tcp`. */
const LISTEN = "0A"

/**
 * Returns the ports with a listening socket in the text of `/proc/net/tcp`
 * and `/proc/net/tcp6`.
 */
export const listeningPorts = (procNetTcp: string): ReadonlySet<number> => {
  const ports = new Set<number>()
  for (const line of procNetTcp.split("\n")) {
    const fields = line.trim().split(/\s+/)
    const localAddress = fields[1]
    const state = fields[3]
    if (localAddress === undefined || state !== LISTEN) {
      continue
    }
    const hexPort = localAddress.slice(localAddress.lastIndexOf(":") + 1)
    const port = Number.parseInt(hexPort, 16)
    if (Number.isInteger(port)) {
      ports.add(port)
    }
  }
  return ports
}

/** Keeps the last `count` non-empty lines of a text. */
export const lastLines = (text: string, count: number): string =>
  text.split("\n").filter((line) => line.trim() !== "").slice(-count).join("\n")
