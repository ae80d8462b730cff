/**
 * The compose project flow behind `Compose.up`: option and file checks,
 * `up` with `down` registered before it, wait strategies, and service lookup.
 */
import { Duration, Effect, Exit, Option, Scope } from "effect"
import { ChildProcessSpawner } from "effect/process"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import type { ComposeOptions, ServiceLookupError, StartedCompose } from "../Compose.ts"
import { defaultPollInterval, type StartedContainer } from "../Container.ts"
import { InvalidSpecError } from "../Errors.ts"
import { ConnectionMode } from "../services/ConnectionMode.ts"
import { DockerEngine } from "../services/DockerEngine.ts"
import * as Wait from "../Wait.ts"
import {
  type CliOutput,
  detectCli,
  displayCommand,
  type ProjectInvocation,
  pullArgs,
  type PullPolicy,
  runCommand,
  upArgs
} from "./composeCli.ts"
import {
  findServiceContainers,
  inspectPrepared,
  listProjectContainers,
  makeServiceContainer,
  publishedPorts
} from "./composeContainers.ts"
import {
  ComposeCommandError,
  ComposeContainerNotFoundError,
  ComposeStartupTimeoutError,
  ComposeUnknownServiceError
} from "./composeErrors.ts"
import { readComposeServices } from "./composeFile.ts"
import { ComposeOptionsSchema, defaultStartupTimeout } from "./composeOptions.ts"
import { tearDown } from "./composeTeardown.ts"
import { formatEngineAddress } from "./engineAddress.ts"
import { validateWaitStrategy } from "./spec.ts"
import { lastLines } from "./streams.ts"
import { renderValue, validate } from "./validate.ts"
import { waitUntilReady } from "./wait.ts"

interface ResolvedOptions {
  readonly files: ReadonlyArray<string>
  readonly project: string
  readonly projectNameGiven: boolean
  readonly projectDirectory: string | undefined
  readonly env: Readonly<Record<string, string>>
  /** Profiles passed with `--profile`. */
  readonly profiles: ReadonlyArray<string>
  /** Those and the ones in `COMPOSE_PROFILES`, which the CLI reads itself. */
  readonly activeProfiles: ReadonlyArray<string>
  readonly build: boolean | undefined
  readonly pull: PullPolicy | undefined
  readonly command: ReadonlyArray<string> | undefined
  readonly waitStrategies: ReadonlyMap<string, Wait.WaitStrategy>
  readonly startupTimeout: Duration.Duration
  readonly pollInterval: Duration.Duration
  readonly stopSeconds: number
}

const invalid = (path: string, value: unknown, reason: string) =>
  new InvalidSpecError({ path, value: renderValue(value), reason })

const toDuration = (
  path: string,
  input: Duration.Input | undefined,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, InvalidSpecError> => {
  if (input === undefined) {
    return Effect.succeed(fallback)
  }
  const duration = Duration.fromInput(input)
  return Option.isSome(duration) && !Duration.isNegative(duration.value)
    ? Effect.succeed(duration.value)
    : Effect.fail(
      invalid(path, input, "expected a duration of 0 or more, such as 30000, \"30 seconds\" or Duration.seconds(30)")
    )
}

const resolveOptions = Effect.fnUntraced(function*(options: ComposeOptions) {
  const valid = yield* validate(ComposeOptionsSchema, options, "compose options")
  const files = (typeof valid.files === "string" ? [valid.files] : valid.files).map((file) => Path.resolve(file))
  const env = valid.env ?? {}
  const profiles = valid.profiles ?? []
  const profilesFromEnv = (env.COMPOSE_PROFILES ?? process.env.COMPOSE_PROFILES ?? "")
    .split(",")
    .map((profile) => profile.trim())
    .filter((profile) => profile !== "")

  const waitStrategies = new Map(Object.entries(options.waitStrategies ?? {}))
  for (const [service, strategy] of waitStrategies) {
    yield* validateWaitStrategy(strategy, `compose options.waitStrategies.${service}`)
  }

  const stopTimeout = yield* toDuration("compose options.stopTimeout", options.stopTimeout, Duration.zero)
  const resolved: ResolvedOptions = {
    files,
    project: valid.projectName ?? `etc-${Crypto.randomBytes(6).toString("hex")}`,
    projectNameGiven: valid.projectName !== undefined,
    projectDirectory: valid.projectDirectory === undefined ? undefined : Path.resolve(valid.projectDirectory),
    env,
    profiles,
    activeProfiles: [...profiles, ...profilesFromEnv],
    build: valid.build,
    pull: valid.pull,
    command: valid.command,
    waitStrategies,
    startupTimeout: yield* toDuration(
      "compose options.startupTimeout",
      options.startupTimeout,
      defaultStartupTimeout
    ),
    pollInterval: yield* toDuration("compose options.pollInterval", options.pollInterval, defaultPollInterval),
    stopSeconds: Math.ceil(Duration.toSeconds(stopTimeout))
  }
  return resolved
})

/** Runs a CLI command and fails with `ComposeCommandError` unless it exits with 0. */
const runChecked = (
  project: string,
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>
): Effect.Effect<CliOutput, ComposeCommandError, ChildProcessSpawner.ChildProcessSpawner> => {
  const command = displayCommand(argv)
  return runCommand(argv, env).pipe(
    Effect.mapError((error) => new ComposeCommandError({ project, command, stderr: error.message })),
    Effect.flatMap((output) =>
      output.exitCode === 0
        ? Effect.succeed(output)
        : Effect.fail(
          new ComposeCommandError({
            project,
            command,
            exitCode: output.exitCode,
            stderr: output.stderr.trim() === "" ? output.stdout : output.stderr
          })
        )
    ),
    Effect.tap((output) =>
      Effect.logDebug("Compose command finished", lastLines(output.stderr, 40)).pipe(
        Effect.annotateLogs({ composeProject: project, command })
      )
    )
  )
}

/** See `Compose.up`. */
export const up = Effect.fn("Compose.up")(function*(options: ComposeOptions) {
  const resolved = yield* resolveOptions(options)
  const { project, files } = resolved
  const services = yield* readComposeServices(files, resolved.activeProfiles)
  for (const service of resolved.waitStrategies.keys()) {
    if (!services.enabled.includes(service)) {
      return yield* new ComposeUnknownServiceError({
        service,
        usedIn: "waitStrategies",
        services: services.enabled,
        files
      })
    }
  }

  const engine = yield* DockerEngine
  const connection = yield* ConnectionMode
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const parentScope = yield* Scope.Scope

  // The CLI must reach the engine this library inspects, whatever DOCKER_HOST
  // or docker context the environment names.
  const env = { ...resolved.env, DOCKER_HOST: formatEngineAddress(engine.address) }
  const cli = yield* detectCli(resolved.command, env)
  if (resolved.pull === "never" && cli.major < 2) {
    return yield* invalid(
      "compose options.pull",
      resolved.pull,
      `Compose ${cli.version} (${displayCommand(cli.command)}) cannot forbid pulls. Drop the option, or use Compose v2.`
    )
  }

  if (resolved.projectNameGiven) {
    const existing = yield* listProjectContainers(project)
    if (existing.length > 0) {
      return yield* invalid(
        "compose options.projectName",
        project,
        `${existing.length} containers on the engine already belong to this compose project, and the final down would remove them. Choose another project name, or remove them with: ${
          displayCommand([...cli.command, "-p", project, "down", "-v"])
        }`
      )
    }
  }

  const invocation: ProjectInvocation = {
    cli,
    project,
    files,
    projectDirectory: resolved.projectDirectory,
    profiles: resolved.profiles,
    env
  }
  const annotations = { composeProject: project, composeFiles: files.join(", ") }

  // The project gets a scope of its own whose finalizer is registered before
  // `up` starts, so a failed or interrupted `up` takes the project down at
  // once instead of when the caller's scope closes.
  const projectScope = yield* Scope.fork(parentScope, "sequential")
  yield* Scope.addFinalizer(
    projectScope,
    tearDown(invocation, resolved.stopSeconds).pipe(
      Effect.provideService(DockerEngine, engine),
      Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner)
    )
  )

  // The steps still running, for the timeout message.
  const running = new Set<string>()
  const step = <A, E, R>(description: string, effect: Effect.Effect<A, E, R>) =>
    Effect.sync(() => running.add(description)).pipe(
      Effect.andThen(effect),
      Effect.tap(() => Effect.sync(() => running.delete(description)))
    )

  const waitForService = Effect.fnUntraced(function*(service: string) {
    const strategy = resolved.waitStrategies.get(service)
    const containers = yield* findServiceContainers(project, service)
    if (containers.length === 0 && strategy !== undefined) {
      return yield* new ComposeContainerNotFoundError({ project, service })
    }
    yield* Effect.forEach(containers, (listed) =>
      Effect.gen(function*() {
        const inspect = yield* inspectPrepared(listed.Id)
        if (strategy === undefined) {
          return
        }
        const name = inspect.Name.replace(/^\//, "")
        yield* step(
          `the wait for ${Wait.describe(strategy)} on service ${service} (container ${name})`,
          waitUntilReady({
            id: inspect.Id,
            name,
            inspect,
            exposedPorts: publishedPorts(inspect),
            pollInterval: resolved.pollInterval
          }, strategy)
        )
      }), { concurrency: "unbounded", discard: true })
  })

  const startAndWait = Effect.gen(function*() {
    if (resolved.pull === "always" && cli.major < 2) {
      const argv = pullArgs(invocation)
      yield* step(displayCommand(argv), runChecked(project, argv, env))
    }
    const argv = upArgs(invocation, { build: resolved.build, pull: resolved.pull })
    yield* step(displayCommand(argv), runChecked(project, argv, env))
    yield* Effect.forEach(services.enabled, waitForService, { concurrency: "unbounded", discard: true })
  })

  yield* Effect.logInfo("Starting compose project").pipe(
    Effect.annotateLogs({ ...annotations, cli: displayCommand(cli.command), cliVersion: cli.version })
  )
  const startedAt = Date.now()

  yield* startAndWait.pipe(
    Effect.timeoutOrElse({
      duration: resolved.startupTimeout,
      orElse: () =>
        Effect.fail(
          new ComposeStartupTimeoutError({
            project,
            timeout: Duration.format(resolved.startupTimeout),
            step: running.size === 0 ? "(between two steps)" : [...running].join("; ")
          })
        )
    }),
    Effect.tapError((error) =>
      Effect.logWarning("Compose up failed", error.message).pipe(Effect.annotateLogs(annotations))
    ),
    Effect.onInterrupt(() =>
      Effect.logInfo("Compose up interrupted; taking the project down").pipe(Effect.annotateLogs(annotations))
    ),
    Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(projectScope, exit) : Effect.void)
  )

  yield* Effect.logInfo("Compose project ready").pipe(
    Effect.annotateLogs({ ...annotations, startupMillis: Date.now() - startedAt })
  )

  const provide = <A, E>(effect: Effect.Effect<A, E, DockerEngine | ConnectionMode>) =>
    effect.pipe(Effect.provideService(DockerEngine, engine), Effect.provideService(ConnectionMode, connection))

  const serviceContainers = (name: string): Effect.Effect<ReadonlyArray<StartedContainer>, ServiceLookupError> =>
    services.enabled.includes(name)
      ? provide(
        findServiceContainers(project, name).pipe(
          Effect.flatMap((containers) =>
            Effect.forEach(containers, (listed) => Effect.flatMap(inspectPrepared(listed.Id), makeServiceContainer))
          )
        )
      )
      : Effect.fail(
        new ComposeUnknownServiceError({
          service: name,
          usedIn: "StartedCompose.service",
          services: services.enabled,
          files
        })
      )

  const started: StartedCompose = {
    project,
    files,
    cli,
    services: services.enabled,
    serviceContainers,
    service: (name) =>
      serviceContainers(name).pipe(
        Effect.flatMap((containers) =>
          containers[0] === undefined
            ? Effect.fail(new ComposeContainerNotFoundError({ project, service: name }))
            : Effect.succeed(containers[0])
        )
      ),
    down: Scope.close(projectScope, Exit.void)
  }
  return started
})
