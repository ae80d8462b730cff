/**
 * The data options of `Compose.up` and the label keys of Compose resources,
 * in a module of their own so that `Compose.ts` and the `up` flow both import
 * them without an import cycle.
 */
import { Duration, Schema } from "effect"

/**
 * Label keys the Compose CLI puts on the containers, networks and volumes it
 * creates. Compose v1.29 (`compose/const.py`) and v2 (`pkg/api/labels.go`)
 * use the same keys, and both mark one-off containers from `run` with
 * `oneoff` set to `True`.
 *
 * @since 0.1.0
 */
export const labels = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  containerNumber: "com.docker.compose.container-number",
  oneoff: "com.docker.compose.oneoff"
} as const

/**
 * A project name as both CLI versions accept it unchanged: lowercase letters,
 * digits, `_` and `-`, starting with a letter or digit. Compose v1.29
 * lowercases the name and drops other characters without a warning
 * (`normalize_name` in `compose/cli/command.py`), and its containers would
 * then carry a different project label.
 *
 * @since 0.1.0
 */
export const ProjectName = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9_-]*$/, {
    message:
      "a project name must start with a lowercase letter or digit and contain only lowercase letters, digits, '_' and '-'"
  })
)

/**
 * The Schema of the options of `up` that are plain data, checked before
 * anything runs.
 *
 * @since 0.1.0
 */
export const ComposeOptionsSchema = Schema.Struct({
  /** One compose file, or several merged in order as with repeated `-f`. Relative paths are resolved against the working directory. */
  files: Schema.Union([Schema.NonEmptyString, Schema.NonEmptyArray(Schema.NonEmptyString)]),
  /** The project name. Defaults to a unique `etc-` name. */
  projectName: Schema.optionalKey(ProjectName),
  /** The project directory (`--project-directory`). Defaults to the directory of the first file. */
  projectDirectory: Schema.optionalKey(Schema.NonEmptyString),
  /**
   * Variables for `${NAME}` interpolation in the files, added to this
   * process's environment for the CLI. `DOCKER_HOST` is always set to the
   * address of the `DockerEngine` in use.
   */
  env: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** Profiles to enable (`--profile`). `COMPOSE_PROFILES` in `env` or the environment is honoured too. */
  profiles: Schema.optionalKey(Schema.Array(Schema.NonEmptyString)),
  /** `true` adds `--build`, `false` adds `--no-build`. Unset leaves the CLI's default: build missing images. */
  build: Schema.optionalKey(Schema.Boolean),
  /**
   * When images are pulled. Compose v2 gets `--pull`. With v1, `always` runs
   * `pull` before `up`, `missing` is its default, and `never` fails before
   * anything runs because v1 cannot forbid pulls.
   */
  pull: Schema.optionalKey(Schema.Literals(["always", "missing", "never"])),
  /** The Compose CLI to run, such as `["docker", "compose"]`. Unset tries `docker compose`, then `docker-compose`. */
  command: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString))
})

/**
 * The default startup timeout: 2 minutes.
 *
 * @since 0.1.0
 */
export const defaultStartupTimeout: Duration.Duration = Duration.minutes(2)
