/**
 * Docker Compose projects as scoped resources: `up` runs the Compose CLI on
 * one or more compose files, waits for the services, and registers `down` so
 * that closing the scope removes every container, network and volume of the
 * project.
 *
 * The CLI is `docker compose` (v2) when it works, otherwise `docker-compose`
 * (v1), or the command given in the options. Running it needs the
 * `ChildProcessSpawner` service, which `NodeServices.layer` from
 * `@effect/platform-node` provides.
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { Compose, Testcontainers, Wait } from "effect-testcontainers"
 *
 * const program = Effect.gen(function*() {
 *   const project = yield* Compose.up({
 *     files: "test/fixtures/compose.yml",
 *     waitStrategies: { web: Wait.forHttp("/", 8080) }
 *   })
 *   const web = yield* project.service("web")
 *   return yield* web.endpoint(8080)
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(Layer.mergeAll(Testcontainers.layer, NodeServices.layer))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { type Context, type Duration, type Effect, Layer, type Schema, type Scope } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import type { StartedContainer } from "./Container.ts"
import type {
  ContainerExitedError,
  ContainerStartError,
  EndpointError,
  EngineRequestError,
  InvalidSpecError
} from "./Errors.ts"
import * as internal from "./internal/compose.ts"
import * as composeCli from "./internal/composeCli.ts"
import type {
  ComposeCliNotFoundError,
  ComposeCommandError,
  ComposeContainerNotFoundError,
  ComposeFileError,
  ComposeStartupTimeoutError,
  ComposeUnknownServiceError
} from "./internal/composeErrors.ts"
import type { ComposeOptionsSchema } from "./internal/composeOptions.ts"
import type { ConnectionMode } from "./services/ConnectionMode.ts"
import type { DockerEngine } from "./services/DockerEngine.ts"
import type { WaitStrategy } from "./Wait.ts"

export type { ComposeCli } from "./internal/composeCli.ts"
export {
  ComposeCliNotFoundError,
  ComposeCommandError,
  ComposeContainerNotFoundError,
  ComposeFileError,
  ComposeStartupTimeoutError,
  ComposeUnknownServiceError
} from "./internal/composeErrors.ts"
export { ComposeOptionsSchema, defaultStartupTimeout, labels, ProjectName } from "./internal/composeOptions.ts"

/**
 * Options of `up`.
 *
 * @since 0.1.0
 */
export interface ComposeOptions extends Schema.Schema.Type<typeof ComposeOptionsSchema> {
  /**
   * A wait strategy per service name, run on every container of the service
   * after `up` returns. Services without one are ready when `up` returns.
   * A name that is not a defined and enabled service fails before `up`.
   */
  readonly waitStrategies?: Readonly<Record<string, WaitStrategy>> | undefined
  /** Covers `pull`, `up` and the wait strategies, but not finding the CLI. Defaults to 2 minutes. */
  readonly startupTimeout?: Duration.Input | undefined
  /** Pause between two checks of a polling wait strategy. Defaults to 100 milliseconds. */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * How long `down` lets each container stop before killing it, rounded up
   * to whole seconds. Defaults to 0, so containers are killed at once, as
   * `Container.start` removes its containers.
   */
  readonly stopTimeout?: Duration.Input | undefined
}

/**
 * A running compose project.
 *
 * @since 0.1.0
 */
export interface StartedCompose {
  readonly project: string
  /** The compose files, as absolute paths. */
  readonly files: ReadonlyArray<string>
  /** The CLI that started the project. */
  readonly cli: composeCli.ComposeCli
  /** The services defined in the files and enabled by the active profiles. */
  readonly services: ReadonlyArray<string>
  /**
   * The first container of a service (lowest container number), looked up by
   * its project and service labels. Endpoints follow the connection mode in
   * force. Fails with `ComposeUnknownServiceError` for a name not in
   * `services`, and with `ComposeContainerNotFoundError` when the service has
   * no container.
   */
  readonly service: (name: string) => Effect.Effect<StartedContainer, ServiceLookupError>
  /** Every container of a service, by container number; empty when it has none. */
  readonly serviceContainers: (name: string) => Effect.Effect<ReadonlyArray<StartedContainer>, ServiceLookupError>
  /**
   * Runs `down` now instead of when the scope closes. Never fails: when
   * `down` fails, what it left is removed through the engine and the failure
   * is logged. A second call does nothing.
   */
  readonly down: Effect.Effect<void>
}

/**
 * Any error of `StartedCompose.service` and `serviceContainers`.
 *
 * @since 0.1.0
 */
export type ServiceLookupError =
  | ComposeUnknownServiceError
  | ComposeContainerNotFoundError
  | EngineRequestError
  | EndpointError

/**
 * Any error `up` can fail with.
 *
 * @since 0.1.0
 */
export type ComposeError =
  | InvalidSpecError
  | ComposeFileError
  | ComposeUnknownServiceError
  | ComposeCliNotFoundError
  | ComposeCommandError
  | ComposeContainerNotFoundError
  | ComposeStartupTimeoutError
  | EngineRequestError
  | EndpointError
  | ContainerExitedError
  | ContainerStartError

/**
 * Finds the Compose CLI that `up` would run: `command` when given, otherwise
 * `docker compose` (v2) when `docker compose version` works, otherwise
 * `docker-compose` (v1). Fails with `ComposeCliNotFoundError` listing every
 * command tried and why it was rejected.
 *
 * @since 0.1.0
 */
export const detectCli = (
  command?: ReadonlyArray<string>
): Effect.Effect<composeCli.ComposeCli, ComposeCliNotFoundError, ChildProcessSpawner.ChildProcessSpawner> =>
  composeCli.detectCli(command, {})

/**
 * Starts a compose project and registers its removal with the scope.
 *
 * Before anything runs, the options and every compose file are checked. A
 * missing file or a YAML error fails with `ComposeFileError`, which names the
 * file and the line. A wait strategy for a service that is not defined and
 * enabled fails with `ComposeUnknownServiceError`. A given project name that
 * containers on the engine already carry fails with `InvalidSpecError`, so
 * that the final `down` cannot remove another project's containers.
 *
 * Then `down -v --remove-orphans` is registered, before `up -d` runs, so a
 * failed `up`, a timeout or an interruption in the middle of `up` removes
 * what was started at once. What `down` leaves, or everything when `down`
 * itself fails, is removed through the engine by the project label. A failed
 * `up` fails with `ComposeCommandError` carrying the CLI's stderr. A wait
 * strategy fails as it does for `Container.start`, and exceeding the startup
 * timeout fails with `ComposeStartupTimeoutError`.
 *
 * @since 0.1.0
 */
export const up: (
  options: ComposeOptions
) => Effect.Effect<
  StartedCompose,
  ComposeError,
  DockerEngine | ConnectionMode | ChildProcessSpawner.ChildProcessSpawner | Scope.Scope
> = internal.up

/**
 * A Layer that starts the compose project when built and takes it down when
 * released. Fails as `up` does.
 *
 * @since 0.1.0
 */
export const layer = <Self, Identifier extends string>(
  service: Context.Service<Self, StartedCompose> & { readonly key: Identifier },
  options: ComposeOptions
): Layer.Layer<Self, ComposeError, DockerEngine | ConnectionMode | ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.effect(service)(up(options))
