/**
 * Running the Docker Compose CLI: finding a working command, building the
 * arguments of `up`, `pull` and `down`, and collecting a run's output.
 */
import { Effect, Stream } from "effect"
import type { PlatformError } from "effect/PlatformError"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { ComposeCliNotFoundError } from "./composeErrors.ts"

/** A working Compose command and the version it reported. */
export interface ComposeCli {
  /** The program and its leading arguments, such as `["docker", "compose"]`. */
  readonly command: ReadonlyArray<string>
  /** The version from `version --short`, such as `2.29.1` or `1.29.2`. */
  readonly version: string
  readonly major: number
}

/** The commands tried in order when none is configured. */
export const defaultCommands: ReadonlyArray<ReadonlyArray<string>> = [["docker", "compose"], ["docker-compose"]]

/** The output of a finished CLI run. */
export interface CliOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** Renders a command line for messages, quoting arguments that contain spaces. */
export const displayCommand = (argv: ReadonlyArray<string>): string =>
  argv.map((arg) => /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`).join(" ")

/**
 * Runs a command to its end and collects stdout and stderr. The environment
 * extends this process's environment. Interruption stops the process with
 * SIGTERM, then SIGKILL after 10 seconds.
 */
export const runCommand = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>
): Effect.Effect<CliOutput, PlatformError, ChildProcessSpawner.ChildProcessSpawner> =>
  Effect.scoped(Effect.gen(function*() {
    const [program = "", ...args] = argv
    const handle = yield* ChildProcess.make(program, args, {
      env: { ...env },
      extendEnv: true,
      stdin: "ignore",
      forceKillAfter: "10 seconds"
    })
    const [stdout, stderr] = yield* Effect.all([
      Stream.mkString(Stream.decodeText(handle.stdout)),
      Stream.mkString(Stream.decodeText(handle.stderr))
    ], { concurrency: 2 })
    const exitCode = yield* handle.exitCode
    return { exitCode, stdout, stderr }
  }))

const versionPattern = /^v?(\d+)\.(\d+)\.(\d+)\S*/

/**
 * Finds the Compose CLI: the configured command, or else `docker compose`
 * (v2) and then `docker-compose` (v1), taking the first whose
 * `version --short` exits with 0 and prints a version. Fails with
 * `ComposeCliNotFoundError` listing every command tried and why it was
 * rejected.
 */
export const detectCli = Effect.fnUntraced(function*(
  command: ReadonlyArray<string> | undefined,
  env: Readonly<Record<string, string>>
) {
  const candidates = command === undefined ? defaultCommands : [command]
  const attempts: Array<{ command: string; reason: string }> = []

  for (const candidate of candidates) {
    const ran = yield* Effect.result(runCommand([...candidate, "version", "--short"], env))
    if (ran._tag === "Failure") {
      const reason = ran.failure.reason._tag === "NotFound"
        ? `${candidate[0]} is not on PATH`
        : ran.failure.message
      attempts.push({ command: displayCommand(candidate), reason })
      continue
    }
    const output = ran.success
    const match = versionPattern.exec(output.stdout.trim())
    if (output.exitCode !== 0 || match === null) {
      const firstLine = (output.stderr.trim() || output.stdout.trim()).split("\n")[0] ?? ""
      attempts.push({
        command: displayCommand(candidate),
        reason: `version --short exited with code ${output.exitCode}${firstLine === "" ? "" : `: ${firstLine}`}`
      })
      continue
    }
    const cli: ComposeCli = { command: candidate, version: match[0].replace(/^v/, ""), major: Number(match[1]) }
    return cli
  }

  return yield* new ComposeCliNotFoundError({ attempts })
})

/** The settings that every command of one project shares. */
export interface ProjectInvocation {
  readonly cli: ComposeCli
  readonly project: string
  /** Absolute paths, in the order the CLI merges them. */
  readonly files: ReadonlyArray<string>
  readonly projectDirectory: string | undefined
  readonly profiles: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

/** The command line up to the subcommand: the CLI, project, files, directory and profiles. */
export const projectArgs = (invocation: ProjectInvocation): ReadonlyArray<string> => [
  ...invocation.cli.command,
  "-p",
  invocation.project,
  ...invocation.files.flatMap((file) => ["-f", file]),
  ...(invocation.projectDirectory === undefined ? [] : ["--project-directory", invocation.projectDirectory]),
  ...invocation.profiles.flatMap((profile) => ["--profile", profile])
]

/** When images are pulled: before every `up`, only when missing, or never. */
export type PullPolicy = "always" | "missing" | "never"

const buildFlags = (build: boolean | undefined): ReadonlyArray<string> => {
  if (build === undefined) {
    return []
  }
  return build ? ["--build"] : ["--no-build"]
}

/**
 * The `up` command line. `build` adds `--build` when true and `--no-build`
 * when false. Compose v2 gets `--pull <policy>`. Compose v1 has no such flag,
 * so `always` is done with a separate `pull` command and `never` is rejected
 * before this point.
 */
export const upArgs = (
  invocation: ProjectInvocation,
  options: { readonly build: boolean | undefined; readonly pull: PullPolicy | undefined }
): ReadonlyArray<string> => [
  ...projectArgs(invocation),
  "up",
  "-d",
  ...buildFlags(options.build),
  ...(options.pull !== undefined && invocation.cli.major >= 2 ? ["--pull", options.pull] : [])
]

/** The `pull` command line that Compose v1 runs before `up` for pull policy `always`. */
export const pullArgs = (invocation: ProjectInvocation): ReadonlyArray<string> => [...projectArgs(invocation), "pull"]

/**
 * The `down` command line: removes containers, networks, named and anonymous
 * volumes, and containers of services no longer in the files. Containers get
 * `stopSeconds` to stop before they are killed.
 */
export const downArgs = (invocation: ProjectInvocation, stopSeconds: number): ReadonlyArray<string> => [
  ...projectArgs(invocation),
  "down",
  "-v",
  "--remove-orphans",
  "-t",
  String(stopSeconds)
]
