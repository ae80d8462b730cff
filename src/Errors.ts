/**
 * Tagged errors raised by engine calls, container and network lifecycles.
 *
 * Every error carries the offending value and, where the engine answered, the
 * engine's own message, so a failed test names what to fix.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The Docker engine did not respond at any of the addresses tried.
 *
 * @since 0.1.0
 */
export class EngineUnreachableError extends Schema.TaggedError<EngineUnreachableError>()("EngineUnreachableError", {
  /** Every address tried, each with where it came from and why it failed. */
  attempts: Schema.Array(Schema.Struct({
    address: Schema.String,
    source: Schema.String,
    reason: Schema.String
  }))
}) {
  override get message(): string {
    const lines = this.attempts.map((attempt) => `  - ${attempt.address} (${attempt.source}): ${attempt.reason}`)
    return [
      "No Docker engine answered. Addresses tried:",
      ...lines,
      "Start a Docker engine, or set DOCKER_HOST (unix:///path/to/docker.sock or tcp://host:2375) to one that runs."
    ].join("\n")
  }
}

/**
 * An engine call failed for a reason that has no more specific error.
 *
 * @since 0.1.0
 */
export class EngineRequestError extends Schema.TaggedError<EngineRequestError>()("EngineRequestError", {
  operation: Schema.String,
  target: Schema.String,
  statusCode: Schema.optionalKey(Schema.Number),
  engineMessage: Schema.String
}) {
  override get message(): string {
    const status = this.statusCode === undefined ? "" : ` (HTTP ${this.statusCode})`
    return `Engine call ${this.operation} on ${this.target} failed${status}: ${this.engineMessage}`
  }
}

/**
 * A container spec, network option or port value failed validation before any
 * engine call was made.
 *
 * @since 0.1.0
 */
export class InvalidSpecError extends Schema.TaggedError<InvalidSpecError>()("InvalidSpecError", {
  /** Dotted path of the invalid field, such as `exposedPorts[0]`. */
  path: Schema.String,
  /** The rejected value, rendered as JSON. */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid ${this.path} ${this.value}: ${this.reason}`
  }
}

/**
 * The image is neither present on the engine nor available from its registry,
 * or the pull policy forbids pulling it.
 *
 * @since 0.1.0
 */
export class ImageNotFoundError extends Schema.TaggedError<ImageNotFoundError>()("ImageNotFoundError", {
  image: Schema.String,
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Image ${this.image} not found: ${this.engineMessage}. Check the name and tag, build the image locally, or push it to a registry the engine can reach.`
  }
}

/**
 * Pulling an image failed for a reason other than the image being missing.
 *
 * @since 0.1.0
 */
export class ImagePullError extends Schema.TaggedError<ImagePullError>()("ImagePullError", {
  image: Schema.String,
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Pulling image ${this.image} failed: ${this.engineMessage}`
  }
}

/**
 * The engine rejected the container create call.
 *
 * @since 0.1.0
 */
export class ContainerCreateError extends Schema.TaggedError<ContainerCreateError>()("ContainerCreateError", {
  image: Schema.String,
  containerName: Schema.String,
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Creating container ${this.containerName} from image ${this.image} failed: ${this.engineMessage}`
  }
}

/**
 * The engine rejected connecting a container to a network, or starting it.
 *
 * @since 0.1.0
 */
export class ContainerStartError extends Schema.TaggedError<ContainerStartError>()("ContainerStartError", {
  containerId: Schema.String,
  containerName: Schema.String,
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Starting container ${this.containerName} (${this.containerId.slice(0, 12)}) failed: ${this.engineMessage}`
  }
}

/**
 * The container stopped before its wait strategy reported it ready.
 *
 * @since 0.1.0
 */
export class ContainerExitedError extends Schema.TaggedError<ContainerExitedError>()("ContainerExitedError", {
  containerId: Schema.String,
  containerName: Schema.String,
  exitCode: Schema.Number,
  lastLogs: Schema.String
}) {
  override get message(): string {
    return `Container ${this.containerName} (${
      this.containerId.slice(0, 12)
    }) exited with code ${this.exitCode} before it was ready. Last log lines:\n${this.lastLogs}`
  }
}

/**
 * The start did not finish within the startup timeout.
 *
 * @since 0.1.0
 */
export class StartupTimeoutError extends Schema.TaggedError<StartupTimeoutError>()("StartupTimeoutError", {
  containerId: Schema.String,
  containerName: Schema.String,
  image: Schema.String,
  /** The startup timeout in force, formatted as a duration. */
  timeout: Schema.String,
  /** A description of the wait strategy that did not succeed. */
  waitStrategy: Schema.String,
  lastLogs: Schema.String
}) {
  override get message(): string {
    return `Container ${this.containerName} (${
      this.containerId.slice(0, 12)
    }, image ${this.image}) was not ready after ${this.timeout} waiting for ${this.waitStrategy}. Raise the startup timeout with Container.withStartupTimeout or check the wait strategy. Last log lines:\n${this.lastLogs}`
  }
}

/**
 * Running a command inside a container failed.
 *
 * @since 0.1.0
 */
export class ExecError extends Schema.TaggedError<ExecError>()("ExecError", {
  containerId: Schema.String,
  command: Schema.Array(Schema.String),
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Running ${JSON.stringify(this.command)} in container ${
      this.containerId.slice(0, 12)
    } failed: ${this.engineMessage}`
  }
}

/**
 * Creating a network failed.
 *
 * @since 0.1.0
 */
export class NetworkCreateError extends Schema.TaggedError<NetworkCreateError>()("NetworkCreateError", {
  networkName: Schema.String,
  engineMessage: Schema.String
}) {
  override get message(): string {
    return `Creating network ${this.networkName} failed: ${this.engineMessage}`
  }
}

/**
 * No endpoint could be resolved for a container port under the connection mode
 * in force.
 *
 * @since 0.1.0
 */
export class EndpointError extends Schema.TaggedError<EndpointError>()("EndpointError", {
  containerId: Schema.String,
  /** The container port asked for, when the lookup was for a port. */
  port: Schema.optionalKey(Schema.String),
  mode: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const container = this.containerId.slice(0, 12)
    return this.port === undefined
      ? `No endpoint for container ${container} in connection mode ${this.mode}: ${this.reason}`
      : `No endpoint for port ${this.port} of container ${container} in connection mode ${this.mode}: ${this.reason}`
  }
}

/**
 * Any error a container start can fail with.
 *
 * @since 0.1.0
 */
export type ContainerError =
  | InvalidSpecError
  | EngineRequestError
  | ImageNotFoundError
  | ImagePullError
  | ContainerCreateError
  | ContainerStartError
  | ContainerExitedError
  | StartupTimeoutError
  | EndpointError
