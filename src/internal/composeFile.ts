/**
 * Reading compose files before the CLI runs: each file must exist, parse as
 * YAML and have a `services` mapping, so that mistakes are reported with the
 * file and line instead of as CLI output after a partial start.
 *
 * Only what this library needs is checked: the top-level shape and the
 * service names with their profiles. Everything else is left to the CLI.
 */
import { Effect, Predicate } from "effect"
import * as Fs from "node:fs/promises"
import type * as Yaml from "yaml"
import { ComposeFileError } from "./composeErrors.ts"

/** The services of a set of compose files. */
export interface ComposeServices {
  /** Services enabled by the active profiles, in order of first definition. */
  readonly enabled: ReadonlyArray<string>
  /** Services whose profiles are all inactive. */
  readonly disabled: ReadonlyArray<string>
}

interface ParsedFile {
  readonly file: string
  /** Each service with the profiles its definition in this file lists, if any. */
  readonly services: ReadonlyArray<{ readonly name: string; readonly profiles: ReadonlyArray<string> | undefined }>
}

const readText = (file: string): Effect.Effect<string, ComposeFileError> =>
  Effect.tryPromise({
    try: () => Fs.readFile(file, "utf8"),
    catch: (cause) => {
      const code = Predicate.hasProperty(cause, "code") ? cause.code : undefined
      if (code === "ENOENT") {
        return new ComposeFileError({
          file,
          problem: "NotFound",
          reason: `no such file; relative paths are resolved against the working directory ${process.cwd()}`
        })
      }
      const reason = code === "EISDIR"
        ? "the path is a directory; name the compose file inside it"
        : Predicate.hasProperty(cause, "message") && Predicate.isString(cause.message)
        ? cause.message
        : String(cause)
      return new ComposeFileError({ file, problem: "Unreadable", reason })
    }
  })

/** Locates the 1-based line and column where a node starts. Returns no position for a value without a node. */
const locate = (
  yaml: typeof Yaml,
  lineCounter: Yaml.LineCounter,
  node: unknown
): { readonly line?: number; readonly column?: number } => {
  const offset = yaml.isNode(node) ? node.range?.[0] : undefined
  if (offset === undefined) {
    return {}
  }
  const position = lineCounter.linePos(offset)
  return { line: position.line, column: position.col }
}

// The YAML parser is loaded on first use, so programs that never run a
// compose file do not pay for it.
const parseFile = (file: string, text: string): Effect.Effect<ParsedFile, ComposeFileError> =>
  Effect.flatMap(Effect.promise(() => import("yaml")), (yaml) => parseWith(yaml, file, text))

const parseWith = (yaml: typeof Yaml, file: string, text: string): Effect.Effect<ParsedFile, ComposeFileError> =>
  Effect.suspend(() => {
    const lineCounter = new yaml.LineCounter()
    // Compose files use YAML 1.1 merge keys (`<<: *defaults`) for shared settings.
    const document = yaml.parseDocument(text, { merge: true, prettyErrors: false, lineCounter })
    const invalid = (reason: string, at: { readonly line?: number; readonly column?: number } = {}) =>
      Effect.fail(new ComposeFileError({ file, problem: "Invalid", reason, ...at }))

    const syntaxError = document.errors[0]
    if (syntaxError !== undefined) {
      const position = lineCounter.linePos(syntaxError.pos[0])
      return invalid(syntaxError.message, { line: position.line, column: position.col })
    }

    const root = document.contents
    if (!yaml.isMap(root)) {
      return invalid(
        root === null
          ? "the file is empty; a compose file needs a top-level services mapping"
          : "the top level must be a mapping with a services key",
        locate(yaml, lineCounter, root)
      )
    }

    const servicesPair = root.items.find((pair) => yaml.isScalar(pair.key) && pair.key.value === "services")
    if (servicesPair === undefined) {
      return Effect.succeed({ file, services: [] })
    }
    const servicesNode = servicesPair.value
    if (!yaml.isMap(servicesNode)) {
      return invalid(
        "services must be a mapping from service names to service definitions",
        locate(yaml, lineCounter, servicesNode ?? servicesPair.key)
      )
    }

    // toJS applies merge keys and anchors, so a service defined through `<<`
    // is read the way the CLI reads it.
    const services: unknown = document.toJS({ maxAliasCount: 10_000 }).services
    const definitions = Predicate.isObject(services) ? Object.entries(services) : []
    const parsed: Array<ParsedFile["services"][number]> = []
    for (const [name, definition] of definitions) {
      const keyNode = servicesNode.items.find((pair) => yaml.isScalar(pair.key) && String(pair.key.value) === name)?.key
      if (definition === null || !Predicate.isObject(definition) || Array.isArray(definition)) {
        return invalid(
          `service "${name}" must be a mapping of settings such as image and ports`,
          locate(yaml, lineCounter, keyNode)
        )
      }
      const profiles = Predicate.hasProperty(definition, "profiles") ? definition.profiles : undefined
      if (profiles !== undefined && !(Array.isArray(profiles) && profiles.every(Predicate.isString))) {
        return invalid(`profiles of service "${name}" must be a list of names`, locate(yaml, lineCounter, keyNode))
      }
      parsed.push({ name, profiles })
    }
    return Effect.succeed({ file, services: parsed })
  })

/**
 * Reads and checks the compose files, then lists their services. A service's
 * profiles come from the last file that sets them, as the CLI merges files in
 * order. A service with profiles is enabled when one of them is active or
 * `*` is active. Fails with `ComposeFileError` for the first file that is
 * missing, unreadable or invalid, and when no file defines a service.
 */
export const readComposeServices = Effect.fnUntraced(function*(
  files: ReadonlyArray<string>,
  activeProfiles: ReadonlyArray<string>
) {
  const profilesByService = new Map<string, ReadonlyArray<string> | undefined>()
  for (const file of files) {
    const parsed = yield* parseFile(file, yield* readText(file))
    for (const service of parsed.services) {
      if (!profilesByService.has(service.name) || service.profiles !== undefined) {
        profilesByService.set(service.name, service.profiles)
      }
    }
  }

  if (profilesByService.size === 0) {
    return yield* new ComposeFileError({
      file: files.join(", "),
      problem: "Invalid",
      reason: "no service is defined; add a top-level services mapping with at least one service"
    })
  }

  const active = new Set(activeProfiles)
  const enabled: Array<string> = []
  const disabled: Array<string> = []
  for (const [name, profiles] of profilesByService) {
    const isEnabled = profiles === undefined || profiles.length === 0 || active.has("*") ||
      profiles.some((profile) => active.has(profile))
    ;(isEnabled ? enabled : disabled).push(name)
  }
  const services: ComposeServices = { enabled, disabled }
  return services
})
