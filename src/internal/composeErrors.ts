/**
 * Tagged errors of `Compose.up` and of a started compose project.
 */
import { Schema } from "effect"
import { lastLines } from "./streams.ts"

/**
 * A compose file is missing, unreadable, not valid YAML, or not shaped like a
 * compose file. Raised before the Compose CLI runs.
 *
 * @since 0.1.0
 */
export class ComposeFileError extends Schema.TaggedError<ComposeFileError>()("ComposeFileError", {
  /** The absolute path of the file. */
  file: Schema.String,
  problem: Schema.Literals(["NotFound", "Unreadable", "Invalid"]),
  /** The 1-based line of a YAML or structure error. */
  line: Schema.optionalKey(Schema.Number),
  /** The 1-based column of a YAML or structure error. */
  column: Schema.optionalKey(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    switch (this.problem) {
      case "NotFound":
        return `Compose file ${this.file} not found: ${this.reason}`
      case "Unreadable":
        return `Reading compose file ${this.file} failed: ${this.reason}`
      case "Invalid": {
        const location = this.line === undefined
          ? ""
          : ` at line ${this.line}${this.column === undefined ? "" : `, column ${this.column}`}`
        return `Compose file ${this.file} is invalid${location}: ${this.reason}`
      }
    }
  }
}

/**
 * A service name is not among the services the compose files define and the
 * active profiles enable.
 *
 * @since 0.1.0
 */
export class ComposeUnknownServiceError extends Schema.TaggedError<ComposeUnknownServiceError>()(
  "ComposeUnknownServiceError",
  {
    service: Schema.String,
    /** The option or function that named the service, such as `waitStrategies`. */
    usedIn: Schema.String,
    /** The services that are defined and enabled. */
    services: Schema.Array(Schema.String),
    files: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `Service "${this.service}" in ${this.usedIn} is not defined in ${
      this.files.join(", ")
    }, or its profile is not enabled. Defined and enabled services: ${
      this.services.length === 0 ? "(none)" : this.services.join(", ")
    }`
  }
}

/**
 * The engine has no container of a known service in the project, for example
 * because it was scaled to 0 or removed.
 *
 * @since 0.1.0
 */
export class ComposeContainerNotFoundError extends Schema.TaggedError<ComposeContainerNotFoundError>()(
  "ComposeContainerNotFoundError",
  {
    project: Schema.String,
    service: Schema.String
  }
) {
  override get message(): string {
    return `No container of service "${this.service}" found in compose project ${this.project}; the service may be scaled to 0, or its containers were removed`
  }
}

/**
 * Neither the configured Compose command nor any of the default ones runs.
 *
 * @since 0.1.0
 */
export class ComposeCliNotFoundError extends Schema.TaggedError<ComposeCliNotFoundError>()(
  "ComposeCliNotFoundError",
  {
    /** Every command tried, with why it was rejected. */
    attempts: Schema.Array(Schema.Struct({ command: Schema.String, reason: Schema.String }))
  }
) {
  override get message(): string {
    return [
      "No Docker Compose CLI found. Commands tried:",
      ...this.attempts.map((attempt) => `  - ${attempt.command}: ${attempt.reason}`),
      "Install the Docker Compose v2 plugin or Debian's docker-compose (scripts/compose.sh installs the latter), or pass the command to run in the `command` option of Compose.up."
    ].join("\n")
  }
}

/**
 * A Compose CLI command (`up`, `pull`) failed to start or exited with a
 * non-zero code.
 *
 * @since 0.1.0
 */
export class ComposeCommandError extends Schema.TaggedError<ComposeCommandError>()("ComposeCommandError", {
  project: Schema.String,
  /** The command line, such as `docker-compose -p etc-1a2b -f /app/compose.yml up -d`. */
  command: Schema.String,
  /** Missing when the process could not be started. */
  exitCode: Schema.optionalKey(Schema.Number),
  /** The CLI's standard error, or the reason the process could not be started. */
  stderr: Schema.String
}) {
  override get message(): string {
    const outcome = this.exitCode === undefined ? "could not be started" : `exited with code ${this.exitCode}`
    return `Compose command for project ${this.project} ${outcome}: ${this.command}\n${
      this.stderr.trim() === "" ? "(no output on stderr)" : `Last lines of stderr:\n${lastLines(this.stderr, 40)}`
    }`
  }
}

/**
 * `up` and the wait strategies did not finish within the startup timeout.
 *
 * @since 0.1.0
 */
export class ComposeStartupTimeoutError extends Schema.TaggedError<ComposeStartupTimeoutError>()(
  "ComposeStartupTimeoutError",
  {
    project: Schema.String,
    /** The startup timeout in force, formatted as a duration. */
    timeout: Schema.String,
    /** The step that was still running, such as `docker-compose up` or a service's wait strategy. */
    step: Schema.String
  }
) {
  override get message(): string {
    return `Compose project ${this.project} was not ready after ${this.timeout}; still running: ${this.step}. Raise startupTimeout in the options of Compose.up, or check the wait strategy.`
  }
}
