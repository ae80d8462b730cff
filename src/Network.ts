/**
 * User-defined Docker networks as scoped resources.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schedule, Schema, Scope } from "effect"
import * as Crypto from "node:crypto"
import { EngineRequestError, InvalidSpecError, NetworkCreateError } from "./Errors.ts"
import { decodeNetworkInspect } from "./internal/inspect.ts"
import { withLiveClock } from "./internal/liveClock.ts"
import { validate } from "./internal/validate.ts"
import { DockerEngine, sessionLabels } from "./services/DockerEngine.ts"

/**
 * A network name as the engine accepts it.
 *
 * @since 0.1.0
 */
export const NetworkName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    message: "a network name must start with a letter or digit and contain only letters, digits, '_', '.' and '-'"
  })
)

/**
 * Options of a new network.
 *
 * @since 0.1.0
 */
export const NetworkOptions = Schema.Struct({
  /** The network name. Defaults to a unique `etc-` name. */
  name: Schema.optionalKey(NetworkName),
  /** The network driver. Defaults to `bridge`. */
  driver: Schema.optionalKey(Schema.NonEmptyString),
  /** Whether the network is cut off from outside traffic. */
  internal: Schema.optionalKey(Schema.Boolean),
  enableIpv6: Schema.optionalKey(Schema.Boolean),
  /** Extra labels, merged over the session labels. */
  labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})

/**
 * @since 0.1.0
 */
export type NetworkOptions = typeof NetworkOptions.Type

/**
 * A created network.
 *
 * @since 0.1.0
 */
export interface StartedNetwork {
  readonly id: string
  readonly name: string
  readonly driver: string
  readonly internal: boolean
  /** The IPv4 gateway of the network, when the engine assigned one. */
  readonly gateway: Option.Option<string>
  readonly subnet: Option.Option<string>
}

/**
 * How long removal retries while the engine still reports containers on the
 * network: removals of containers that share the scope may still be under way.
 */
const removalRetryWindow = "10 seconds"

const isActiveEndpoints = (error: EngineRequestError): boolean =>
  /active endpoints/i.test(error.engineMessage) || error.statusCode === 409

/**
 * Removes a network, retrying while the engine reports active endpoints. A
 * network already gone counts as removed.
 *
 * @since 0.1.0
 */
export const remove = (network: { readonly id: string; readonly name: string }) => withLiveClock(removeNetwork(network))

const removeNetwork = Effect.fn("Network.remove")(function*(network: { readonly id: string; readonly name: string }) {
  const engine = yield* DockerEngine

  yield* engine.call(
    "network remove",
    network.name,
    (client, signal) => client.getNetwork(network.id).remove({ abortSignal: signal })
  ).pipe(
    Effect.tapError((error) =>
      isActiveEndpoints(error)
        ? Effect.logDebug("Network still has containers; retrying removal").pipe(
          Effect.annotateLogs({ networkId: network.id, networkName: network.name })
        )
        : Effect.void
    ),
    Effect.retry({
      while: isActiveEndpoints,
      schedule: Schedule.spaced("200 millis").pipe(Schedule.upTo({ duration: removalRetryWindow }))
    }),
    Effect.catchIf((error) => error.statusCode === 404, () => Effect.void)
  )

  yield* Effect.logInfo("Removed network").pipe(
    Effect.annotateLogs({ networkId: network.id, networkName: network.name })
  )
})

/**
 * Creates a user-defined network that is removed when the scope closes. The
 * name is unique unless given; the labels mark it as this session's. Fails
 * with `InvalidSpecError` before any engine call when an option is invalid,
 * and with `NetworkCreateError` when the engine rejects the create.
 *
 * @since 0.1.0
 */
export const make = Effect.fn("Network.make")(
  function*(options: NetworkOptions = {}) {
    const valid = yield* validate(NetworkOptions, options, "network options")
    const engine = yield* DockerEngine
    const name = valid.name ?? `etc-${Crypto.randomBytes(6).toString("hex")}`

    const created = yield* Effect.acquireRelease(
      engine.call("network create", name, (client, signal) =>
        client.createNetwork({
          Name: name,
          Driver: valid.driver ?? "bridge",
          CheckDuplicate: true,
          Internal: valid.internal ?? false,
          EnableIPv6: valid.enableIpv6 ?? false,
          Labels: { ...valid.labels, ...sessionLabels },
          abortSignal: signal
        })).pipe(
          Effect.mapError((error) => new NetworkCreateError({ networkName: name, engineMessage: error.engineMessage }))
        ),
      (network) =>
        remove({ id: network.id, name }).pipe(
          Effect.catch((error) =>
            Effect.logError("Removing network failed", error.message).pipe(
              Effect.annotateLogs({ networkId: network.id, networkName: name })
            )
          )
        )
    )

    yield* Effect.logInfo("Created network").pipe(
      Effect.annotateLogs({ networkId: created.id, networkName: name })
    )

    const raw = yield* engine.call(
      "network inspect",
      name,
      (client) => client.getNetwork(created.id).inspect()
    )
    const inspect = yield* decodeNetworkInspect(raw).pipe(
      Effect.mapError((error) =>
        new EngineRequestError({ operation: "network inspect", target: name, engineMessage: error.message })
      )
    )
    const ipv4 = (inspect.IPAM?.Config ?? []).find((config) => config.Subnet && !config.Subnet.includes(":"))

    const network: StartedNetwork = {
      id: inspect.Id,
      name: inspect.Name,
      driver: inspect.Driver,
      internal: inspect.Internal ?? false,
      gateway: Option.fromNullishOr(ipv4?.Gateway),
      subnet: Option.fromNullishOr(ipv4?.Subnet)
    }
    return network
  }
)

/**
 * The network service provided by {@link layer}.
 *
 * @since 0.1.0
 */
export class TestNetwork extends Context.Service<TestNetwork, StartedNetwork>()(
  "effect-testcontainers/TestNetwork"
) {}

/**
 * A Layer that creates a network when built and removes it when released.
 *
 * @since 0.1.0
 */
export const layer = (
  options: NetworkOptions = {}
): Layer.Layer<TestNetwork, InvalidSpecError | NetworkCreateError | EngineRequestError, DockerEngine> =>
  Layer.effect(TestNetwork)(make(options))

/**
 * Runs `use` with a fresh network and removes the network afterwards.
 *
 * @since 0.1.0
 */
export const use = <A, E, R>(
  options: NetworkOptions,
  use: (network: StartedNetwork) => Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | InvalidSpecError | NetworkCreateError | EngineRequestError,
  Exclude<R, Scope.Scope> | DockerEngine
> => Effect.scoped(Effect.flatMap(make(options), use))
