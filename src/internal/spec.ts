/**
 * Validation of a container spec with `effect/Schema`, before any engine call.
 */
import { Duration, Effect, Option, Schema } from "effect"
import type { ContainerSpec } from "../Container.ts"
import { InvalidSpecError } from "../Errors.ts"
import type { WaitStrategy } from "../Wait.ts"
import { type ContainerPort, parsePort, portKey } from "./port.ts"
import { portMessage } from "./started.ts"
import { renderValue, validate } from "./validate.ts"

/** A container port value: `5432`, `"5432"`, `"443/tcp"`, `"53/udp"`. */
export const PortInput = Schema.Union([Schema.Number, Schema.String]).check(
  Schema.makeFilter((input) => parsePort(input) !== undefined, { message: portMessage })
)

/** A host port of a fixed binding. */
export const HostPort = Schema.Number.check(
  Schema.makeFilter((input) => Number.isInteger(input) && input >= 1 && input <= 65535, {
    message: "a host port must be an integer from 1 to 65535"
  })
)

/** A network alias: a DNS label-like name the peers resolve. */
export const Alias = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,252})$/, {
    message:
      "an alias must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (no spaces), at most 253 characters"
  })
)

const NetworkReference = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    message: "a network name must start with a letter or digit and contain only letters, digits, '_', '.' and '-'"
  })
)

const PositiveDuration = Schema.Unknown.check(
  Schema.makeFilter(
    (input) => {
      const duration = Duration.fromInput(input as Duration.Input)
      return Option.isSome(duration) && Duration.isGreaterThan(duration.value, Duration.zero)
    },
    { message: "a positive duration is expected, such as 30000 (milliseconds), \"30 seconds\" or Duration.seconds(30)" }
  )
)

/** The structural schema of a spec; cross-field rules follow in `validateSpec`. */
const ContainerSpecSchema = Schema.Struct({
  image: Schema.String.check(
    Schema.isPattern(/^[^\s]+$/, { message: "an image reference must be non-empty and contain no spaces" })
  ),
  name: Schema.UndefinedOr(
    Schema.String.check(
      Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
        message: "a container name must start with a letter or digit and contain only letters, digits, '_', '.' and '-'"
      })
    )
  ),
  command: Schema.UndefinedOr(Schema.Array(Schema.String)),
  entrypoint: Schema.UndefinedOr(Schema.Array(Schema.String)),
  env: Schema.Record(Schema.String, Schema.String),
  labels: Schema.Record(Schema.String, Schema.String),
  exposedPorts: Schema.Array(PortInput),
  portBindings: Schema.Array(Schema.Struct({
    containerPort: PortInput,
    hostPort: HostPort,
    hostIp: Schema.UndefinedOr(Schema.String)
  })),
  networks: Schema.Array(Schema.Struct({
    network: NetworkReference,
    aliases: Schema.Array(Alias)
  })),
  networkMode: Schema.UndefinedOr(NetworkReference),
  startupTimeout: PositiveDuration,
  pollInterval: PositiveDuration,
  pullPolicy: Schema.Literals(["missing", "always", "never"]),
  mounts: Schema.Array(Schema.Struct({
    source: Schema.NonEmptyString,
    target: Schema.String.check(Schema.isPattern(/^\//, { message: "a mount target must be an absolute path" })),
    readOnly: Schema.Boolean
  })),
  extraHosts: Schema.Array(
    Schema.String.check(Schema.isPattern(/^[^:\s]+:\S+$/, { message: "an extra host must look like name:address" }))
  )
})

/** A spec that passed validation, with its ports parsed. */
export interface ValidSpec {
  readonly spec: ContainerSpec
  readonly exposedPorts: ReadonlyArray<ContainerPort>
  readonly portBindings: ReadonlyArray<
    { readonly port: ContainerPort; readonly hostPort: number; readonly hostIp: string }
  >
  readonly startupTimeout: Duration.Duration
  readonly pollInterval: Duration.Duration
}

const fail = (path: string, value: unknown, reason: string) =>
  Effect.fail(new InvalidSpecError({ path, value: renderValue(value), reason }))

/** Checks a wait strategy: valid ports and a positive number of log lines. */
export const validateWaitStrategy = (
  strategy: WaitStrategy,
  path: string
): Effect.Effect<void, InvalidSpecError> => {
  switch (strategy._tag) {
    case "ListeningPorts":
      return Effect.forEach(
        strategy.ports ?? [],
        (port, index) =>
          parsePort(port) === undefined ? fail(`${path}.ports[${index}]`, port, portMessage) : Effect.void
      ).pipe(
        Effect.asVoid
      )
    case "LogMessage":
      return Number.isInteger(strategy.times) && strategy.times >= 1
        ? Effect.void
        : fail(`${path}.times`, strategy.times, "the number of matching lines must be a positive integer")
    case "Http":
      return parsePort(strategy.port) === undefined ? fail(`${path}.port`, strategy.port, portMessage) : Effect.void
    case "All":
      return Effect.forEach(
        strategy.strategies,
        (inner, index) => validateWaitStrategy(inner, `${path}.strategies[${index}]`)
      ).pipe(Effect.asVoid)
    case "Healthcheck":
    case "Running":
      return Effect.void
  }
}

/**
 * Validates a spec: field by field with Schema, then the rules that span
 * fields (aliases and port bindings have no effect with network mode `host`
 * or `none`, and neither mode combines with networks).
 */
export const validateSpec = Effect.fnUntraced(function*(spec: ContainerSpec) {
  yield* validate(ContainerSpecSchema, spec, "container spec")

  const mode = spec.networkMode
  if (mode === "host" || mode === "none") {
    const withAliases = spec.networks.findIndex((attachment) => attachment.aliases.length > 0)
    if (withAliases >= 0) {
      return yield* fail(
        `container spec.networks[${withAliases}].aliases`,
        spec.networks[withAliases]?.aliases,
        `aliases need a user-defined network, but network mode is "${mode}"; remove the aliases or the network mode`
      )
    }
    if (spec.networks.length > 0) {
      return yield* fail(
        "container spec.networks",
        spec.networks.map((attachment) => attachment.network),
        `a container with network mode "${mode}" cannot join other networks; remove the networks or the network mode`
      )
    }
    if (spec.portBindings.length > 0) {
      return yield* fail(
        "container spec.portBindings",
        spec.portBindings.map((binding) => `${binding.hostPort}:${binding.containerPort}`),
        `port bindings have no effect with network mode "${mode}"; remove them`
      )
    }
  }
  if (mode === "bridge") {
    const withAliases = spec.networks.findIndex((attachment) => attachment.aliases.length > 0)
    if (withAliases >= 0 && spec.networks[withAliases]?.network === "bridge") {
      return yield* fail(
        `container spec.networks[${withAliases}].aliases`,
        spec.networks[withAliases]?.aliases,
        "the default bridge network does not support aliases; create a network with Network.make and join it"
      )
    }
  }

  const badEnvName = Object.keys(spec.env).find((key) => key === "" || key.includes("=") || key.includes("\0"))
  if (badEnvName !== undefined) {
    return yield* fail(
      "container spec.env",
      badEnvName,
      "an environment variable name must be non-empty and contain no '='; pass { NAME: \"value\" }"
    )
  }

  const names = spec.networks.map((attachment) => attachment.network)
  const duplicate = names.find((name, index) => names.indexOf(name) !== index)
  if (duplicate !== undefined) {
    return yield* fail(
      "container spec.networks",
      names,
      `network "${duplicate}" is listed twice; join it once with all its aliases`
    )
  }

  if (spec.waitStrategy !== undefined) {
    yield* validateWaitStrategy(spec.waitStrategy, "container spec.waitStrategy")
  }

  const portBindings = spec.portBindings.map((binding) => ({
    port: parsePort(binding.containerPort)!,
    hostPort: binding.hostPort,
    hostIp: binding.hostIp ?? ""
  }))
  const exposed = new Map<string, ContainerPort>()
  for (const input of spec.exposedPorts) {
    const port = parsePort(input)!
    exposed.set(portKey(port), port)
  }
  for (const binding of portBindings) {
    exposed.set(portKey(binding.port), binding.port)
  }

  const valid: ValidSpec = {
    spec,
    exposedPorts: [...exposed.values()],
    portBindings,
    startupTimeout: Duration.fromInputUnsafe(spec.startupTimeout),
    pollInterval: Duration.fromInputUnsafe(spec.pollInterval)
  }
  return valid
})
