/**
 * Settings read from environment variables, falling back to the user's
 * `~/.testcontainers.properties` file, through Effect's `ConfigProvider`.
 *
 * A property key maps to an environment variable: `connection.mode` is
 * `TESTCONTAINERS_CONNECTION_MODE`, `host.override` is
 * `TESTCONTAINERS_HOST_OVERRIDE` and `docker.host` is `DOCKER_HOST`. An
 * environment variable that is set, even to the empty string, wins over the
 * file.
 *
 * @example
 * ```ts
 * import { Config, Effect } from "effect"
 * import { TestcontainersConfig } from "effect-testcontainers"
 *
 * const program = Config.String("TESTCONTAINERS_CONNECTION_MODE").pipe(
 *   Effect.provide(TestcontainersConfig.layer())
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Effect, Layer, Result, Schema, SchemaIssue } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  decodeProperties,
  parseProperties,
  type PropertyEntry,
  propertyKeyToEnvironmentName
} from "../internal/properties.ts"

export { environmentNameToPropertyKey, propertyKeyToEnvironmentName } from "../internal/properties.ts"

/**
 * Environment variable names of the settings this library reads.
 *
 * @since 0.1.0
 */
export const keys = {
  /** `connection.mode` in the properties file. */
  connectionMode: "TESTCONTAINERS_CONNECTION_MODE",
  /** `host.override` in the properties file. */
  hostOverride: "TESTCONTAINERS_HOST_OVERRIDE",
  /** `docker.host` in the properties file. */
  dockerHost: "DOCKER_HOST"
} as const

/**
 * Returns the path of the properties file in a home directory, by default the
 * current user's: `~/.testcontainers.properties`.
 *
 * @since 0.1.0
 */
export const defaultPropertiesPath = (home: string = Os.homedir()): string =>
  Path.join(home, ".testcontainers.properties")

/**
 * A parsed properties file: its entries by environment variable name.
 *
 * @since 0.1.0
 */
export interface PropertiesFile {
  readonly path: string
  /** The last entry for each environment variable name, such as `TESTCONTAINERS_CONNECTION_MODE`. */
  readonly entries: ReadonlyMap<string, PropertyEntry>
}

/**
 * Reads and parses a properties file. Returns `undefined` when the file does
 * not exist. Fails with a `SourceError` that names the file when it cannot be
 * read, and the file and line when it is not valid UTF-8 or has a malformed
 * `\u` escape.
 *
 * @since 0.1.0
 */
export const readPropertiesFile = (
  path: string
): Result.Result<PropertiesFile | undefined, ConfigProvider.SourceError> => {
  let bytes: Uint8Array
  try {
    bytes = Fs.readFileSync(path)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    if (code === "ENOENT" || code === "ENOTDIR") {
      return Result.succeed(undefined)
    }
    const reason = cause instanceof Error ? cause.message : String(cause)
    return Result.fail(
      new ConfigProvider.SourceError({
        message: `Cannot read the properties file ${path}: ${reason}. Fix its permissions or remove it.`,
        cause
      })
    )
  }

  const parsed = Result.flatMap(decodeProperties(bytes), parseProperties)
  if (Result.isFailure(parsed)) {
    return Result.fail(
      new ConfigProvider.SourceError({
        message: `Invalid properties file ${path}, line ${parsed.failure.line}: ${parsed.failure.reason}`
      })
    )
  }

  const entries = new Map<string, PropertyEntry>()
  for (const entry of parsed.success) {
    entries.set(propertyKeyToEnvironmentName(entry.key), entry)
  }
  return Result.succeed({ path, entries })
}

/**
 * Describes where the value of a setting came from, for error messages and
 * logs.
 *
 * @since 0.1.0
 */
export interface ConfigOrigin {
  /** Describes the source of a setting by its environment variable name, such as `environment variable DOCKER_HOST`. */
  readonly describe: (name: string) => string
}

/**
 * The origin descriptions of the settings in force. `layer` installs one that
 * names the environment variable, or the file and line. Without it, a setting
 * is described as a key of the current `ConfigProvider`.
 *
 * @since 0.1.0
 */
export const ConfigOrigin: Context.Reference<ConfigOrigin> = Context.Reference<ConfigOrigin>(
  "effect-testcontainers/ConfigOrigin",
  { defaultValue: () => ({ describe: (name) => `key ${name} of the current ConfigProvider` }) }
)

/**
 * Options of the environment and properties file provider.
 *
 * @since 0.1.0
 */
export interface TestcontainersConfigOptions {
  /** The environment variables. Defaults to `process.env` when the provider is made. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The properties file. Defaults to `~/.testcontainers.properties`. */
  readonly propertiesPath?: string | undefined
}

/**
 * Makes a `ConfigProvider` that reads environment variables and falls back to
 * the properties file, with the matching `ConfigOrigin`. Empty environment
 * variables count as set. The file is read at the first lookup that the
 * environment has no value for. That lookup fails with a `SourceError` when
 * the file cannot be read or parsed.
 *
 * @since 0.1.0
 */
export const make = (options: TestcontainersConfigOptions = {}): {
  readonly provider: ConfigProvider.ConfigProvider
  readonly origin: ConfigOrigin
} => {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) }
  const propertiesPath = options.propertiesPath ?? defaultPropertiesPath()

  let file: Result.Result<PropertiesFile | undefined, ConfigProvider.SourceError> | undefined
  const loadFile = () => (file ??= readPropertiesFile(propertiesPath))

  const fileProvider = ConfigProvider.make((path) =>
    Effect.suspend(() => {
      const loaded = loadFile()
      if (Result.isFailure(loaded)) {
        return Effect.fail(loaded.failure)
      }
      if (loaded.success === undefined) {
        return Effect.succeed(undefined)
      }
      const values: Record<string, string> = {}
      for (const [name, entry] of loaded.success.entries) {
        values[name] = entry.value
      }
      return ConfigProvider.fromEnvRecord(values, { preserveEmptyStrings: true }).load(path)
    })
  )

  const provider = ConfigProvider.orElse(
    ConfigProvider.fromEnvRecord(env, { preserveEmptyStrings: true }),
    fileProvider
  )

  const origin: ConfigOrigin = {
    describe: (name) => {
      if (env[name] !== undefined) {
        return `environment variable ${name}`
      }
      const loaded = loadFile()
      const entry = Result.isSuccess(loaded) ? loaded.success?.entries.get(name) : undefined
      return entry === undefined
        ? `environment variable ${name} or ${propertiesPath}`
        : `${entry.key} on line ${entry.line} of ${propertiesPath}`
    }
  }

  return { provider, origin }
}

/**
 * A Layer that installs the environment and properties file provider as the
 * current `ConfigProvider`, replacing the one in force, together with its
 * `ConfigOrigin`. Building it never fails, because the file is read at the
 * first lookup that the environment has no value for.
 *
 * @since 0.1.0
 */
export const layer = (options: TestcontainersConfigOptions = {}): Layer.Layer<never> =>
  Layer.unwrap(Effect.sync(() => {
    const made = make(options)
    return Layer.mergeAll(
      ConfigProvider.layer(made.provider),
      Layer.succeed(ConfigOrigin)(made.origin)
    )
  }))

/**
 * Makes the `ConfigError` for an invalid setting. Its message names the
 * setting, where the value came from and what is expected, for example:
 * `Invalid value "bridge" of environment variable TESTCONTAINERS_CONNECTION_MODE: expected one of bridge_ip, gateway_ip, docker_host`.
 *
 * @since 0.1.0
 */
export const invalidValue = (options: {
  readonly name: string
  readonly value: string
  readonly origin: string
  readonly expected: string
}): Config.ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(
      new SchemaIssue.Pointer(
        [options.name],
        new SchemaIssue.InvalidValue({
          message: `Invalid value ${JSON.stringify(options.value)} of ${options.origin}: ${options.expected}`
        }, options.value)
      )
    )
  )
