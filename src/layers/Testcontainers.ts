/**
 * The ready Layer most programs need: an engine client and the connection
 * mode, both configured from the environment and `~/.testcontainers.properties`.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import * as ConnectionMode from "../services/ConnectionMode.ts"
import * as DockerEngine from "../services/DockerEngine.ts"
import * as TestcontainersConfig from "../services/TestcontainersConfig.ts"

/**
 * Provides `DockerEngine` and `ConnectionMode`. Both read their settings
 * through one `ConfigProvider`: environment variables first, then
 * `~/.testcontainers.properties`. Without a configured connection mode, the
 * mode is detected and logged once with the reason. Fails when no engine
 * responds or a setting is invalid.
 *
 * @since 0.1.0
 */
export const layer = ConnectionMode.layerConfig().pipe(
  Layer.provideMerge(DockerEngine.layerFromEnv),
  Layer.provide(TestcontainersConfig.layer())
)

/**
 * The services `layer` provides, for annotating programs that need them.
 *
 * @since 0.1.0
 */
export type Services = DockerEngine.DockerEngine | ConnectionMode.ConnectionMode
