/**
 * Parsing of `.testcontainers.properties` files and the mapping between
 * property keys and environment variable names.
 */
import { type Pair, parseLines } from "dot-properties"
import { Result } from "effect"
import { isUtf8 } from "node:buffer"

/** One key and value of a properties file, with the line its key is on. */
export interface PropertyEntry {
  readonly key: string
  readonly value: string
  /** 1-based line number of the key. */
  readonly line: number
}

/** A parse failure of a properties file, with its line. */
export interface PropertiesSyntaxError {
  /** 1-based line number. */
  readonly line: number
  readonly reason: string
}

/**
 * Property keys whose environment variable is not `TESTCONTAINERS_` followed
 * by the key: the Docker client's own settings keep their usual names.
 */
const environmentNames: Readonly<Record<string, string>> = {
  "docker.host": "DOCKER_HOST",
  "docker.tls.verify": "DOCKER_TLS_VERIFY",
  "docker.cert.path": "DOCKER_CERT_PATH"
}

/**
 * Returns the environment variable for a property key: `docker.host` is
 * `DOCKER_HOST`, `docker.tls.verify` and `docker.cert.path` likewise, and any
 * other key is upper-cased with `.` and `-` replaced by `_` after the prefix
 * `TESTCONTAINERS_`, so `connection.mode` is `TESTCONTAINERS_CONNECTION_MODE`.
 */
export const propertyKeyToEnvironmentName = (key: string): string =>
  environmentNames[key] ?? `TESTCONTAINERS_${key.toUpperCase().replace(/[.-]/g, "_")}`

/**
 * Returns the property key for an environment variable, the inverse of
 * `propertyKeyToEnvironmentName`, or `undefined` when no property key maps to
 * it. Underscores become dots, so a key spelled with `_` or `-` is not
 * recovered exactly.
 */
export const environmentNameToPropertyKey = (name: string): string | undefined => {
  for (const [key, environmentName] of Object.entries(environmentNames)) {
    if (environmentName === name) {
      return key
    }
  }
  const prefix = "TESTCONTAINERS_"
  if (!name.startsWith(prefix) || name.length === prefix.length) {
    return undefined
  }
  return name.slice(prefix.length).toLowerCase().replace(/_/g, ".")
}

/** Offsets at which each line starts. `\n`, `\r\n` and a lone `\r` end a line. */
const lineStarts = (text: string): ReadonlyArray<number> => {
  const starts = [0]
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (char === "\r" && text[index + 1] === "\n") {
      index++
    }
    if (char === "\r" || char === "\n") {
      starts.push(index + 1)
    }
  }
  return starts
}

/** Finds the 1-based line of an offset by binary search over the line starts. */
const lineAt = (starts: ReadonlyArray<number>, offset: number): number => {
  let low = 0
  let high = starts.length - 1
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if ((starts[middle] ?? 0) <= offset) {
      low = middle
    } else {
      high = middle - 1
    }
  }
  return low + 1
}

/**
 * Finds a `\u` escape that is not followed by four hexadecimal digits in the
 * raw text between two offsets. Java's `Properties.load` rejects such an escape
 * as malformed, while dot-properties would read it as a plain `u`.
 */
const findMalformedUnicodeEscape = (text: string, start: number, end: number): number | undefined => {
  for (let index = start; index < end; index++) {
    if (text[index] !== "\\") {
      continue
    }
    if (text[index + 1] === "u" && !/^[0-9a-fA-F]{4}$/.test(text.slice(index + 2, index + 6))) {
      return index
    }
    // Skip the escaped character, so that `\\u` is a backslash and a `u`.
    index++
  }
  return undefined
}

/**
 * Parses the text of a properties file in the format of Java's
 * `Properties.load`: `#` and `!` comments, `=`, `:` or whitespace between key
 * and value, backslash escapes including `\uXXXX`, and lines continued with a
 * trailing backslash. Keys that repeat keep their last value, as in Java. Fails
 * with the line of a malformed `\u` escape.
 */
export const parseProperties = (
  text: string
): Result.Result<ReadonlyArray<PropertyEntry>, PropertiesSyntaxError> => {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text
  const starts = lineStarts(source)
  const entries: Array<PropertyEntry> = []

  for (const node of parseLines(source, true)) {
    if (node.type !== "PAIR") {
      continue
    }
    // The package exports the node classes as types only, so the tag is checked
    // instead of `instanceof`.
    const pair = node as Required<Pair>
    const [keyStart, keyEnd, valueStart, valueEnd] = pair.range
    const malformed = findMalformedUnicodeEscape(source, keyStart, keyEnd) ??
      findMalformedUnicodeEscape(source, valueStart, valueEnd)
    if (malformed !== undefined) {
      return Result.fail({
        line: lineAt(starts, malformed),
        reason: `malformed escape "${
          source.slice(malformed, malformed + 6).split(/[\r\n]/)[0]
        }": \\u must be followed by four hexadecimal digits`
      })
    }
    entries.push({ key: pair.key, value: pair.value, line: lineAt(starts, keyStart) })
  }

  return Result.succeed(entries)
}

/**
 * Decodes the bytes of a properties file as UTF-8. Fails with the line of the
 * first byte sequence that is not valid UTF-8, such as a Latin-1 character.
 */
export const decodeProperties = (bytes: Uint8Array): Result.Result<string, PropertiesSyntaxError> => {
  if (isUtf8(bytes)) {
    return Result.succeed(new TextDecoder("utf-8").decode(bytes))
  }
  // A newline byte never occurs inside a multi-byte UTF-8 sequence, so each
  // line can be checked on its own.
  let line = 1
  let lineStart = 0
  for (let index = 0; index <= bytes.length; index++) {
    if (index === bytes.length || bytes[index] === 0x0a) {
      if (!isUtf8(bytes.subarray(lineStart, index))) {
        break
      }
      line++
      lineStart = index + 1
    }
  }
  return Result.fail({
    line,
    reason: "the text is not valid UTF-8; save the file as UTF-8 or write non-ASCII characters as \\uXXXX escapes"
  })
}
