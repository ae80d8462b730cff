/**
 * The ready Layer most programs need: an engine client and the connection
 * mode, both configured from the environment.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import * as ConnectionMode from "../services/ConnectionMode.ts"
import * as DockerEngine from "../services/DockerEngine.ts"

/**
 * Provides `DockerEngine` and `ConnectionMode`, configured from `DOCKER_HOST`
 * and the connection mode settings read through the current
 * `ConfigProvider`. Fails when no engine answers.
 *
 * @since 0.1.0
 */
export const layer = ConnectionMode.layerDockerHost.pipe(Layer.provideMerge(DockerEngine.layerFromEnv))
