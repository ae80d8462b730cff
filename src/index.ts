/**
 * effect-testcontainers: real Docker networks and containers as scoped Effect
 * resources and Layers.
 *
 * @since 0.1.0
 */

/**
 * Containers: an immutable spec built with `pipe`, and a scoped start.
 *
 * @since 0.1.0
 */
export * as Container from "./Container.ts"

/**
 * Tagged errors of engine calls, containers and networks.
 *
 * @since 0.1.0
 */
export * from "./Errors.ts"

/**
 * User-defined networks as scoped resources.
 *
 * @since 0.1.0
 */
export * as Network from "./Network.ts"

/**
 * Wait strategies: when a started container counts as ready.
 *
 * @since 0.1.0
 */
export * as Wait from "./Wait.ts"

/**
 * The Docker engine client service.
 *
 * @since 0.1.0
 */
export * as DockerEngine from "./services/DockerEngine.ts"

/**
 * The connection mode service: how the test process reaches containers.
 *
 * @since 0.1.0
 */
export * as ConnectionMode from "./services/ConnectionMode.ts"

/**
 * Settings read from the environment and `~/.testcontainers.properties`.
 *
 * @since 0.1.0
 */
export * as TestcontainersConfig from "./services/TestcontainersConfig.ts"

/**
 * The ready Layer with the engine client and the connection mode.
 *
 * @since 0.1.0
 */
export * as Testcontainers from "./layers/Testcontainers.ts"

/**
 * The Postgres module: a ready server as a Layer with a typed endpoint.
 *
 * @since 0.1.0
 */
export * as Postgres from "./modules/Postgres.ts"

/**
 * The Redis module: a ready server as a Layer with a typed endpoint.
 *
 * @since 0.1.0
 */
export * as Redis from "./modules/Redis.ts"

/**
 * Docker Compose files run as one scoped resource.
 *
 * @since 0.1.0
 */
export * as Compose from "./Compose.ts"
