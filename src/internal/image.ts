/**
 * Making sure an image is present on the engine, pulling it when the pull
 * policy allows.
 */
import { Config, Effect, Option, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { PullPolicy, RegistryAuth } from "../Container.ts"
import { ImageNotFoundError, ImagePullError } from "../Errors.ts"
import { DockerEngine } from "../services/DockerEngine.ts"

const missingImagePattern = /not found|manifest unknown|pull access denied|does not exist|no such image/i

/** Adds `:latest` to a reference without a tag or digest. */
export const withDefaultTag = (image: string): string => {
  if (image.includes("@")) {
    return image
  }
  const lastSlash = image.lastIndexOf("/")
  return image.slice(lastSlash + 1).includes(":") ? image : `${image}:latest`
}

/**
 * Returns the registry host of an image reference, or `docker.io` for Docker Hub. The
 * first path component names a registry when it contains `.` or `:` or is
 * `localhost`, as the Docker CLI reads references.
 */
export const registryOf = (image: string): string => {
  const slash = image.indexOf("/")
  if (slash < 0) {
    return "docker.io"
  }
  const first = image.slice(0, slash)
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io"
}

/**
 * Puts `prefix` before a Docker Hub image reference, so `postgres:17` becomes
 * `registry.example.com/mirror/postgres:17`. References that name a registry
 * are returned unchanged.
 */
export const applyImageNamePrefix = (image: string, prefix: string | undefined): string => {
  if (prefix === undefined || prefix.trim() === "" || registryOf(image) !== "docker.io") {
    return image
  }
  const trimmed = prefix.trim()
  return trimmed.endsWith("/") ? `${trimmed}${image}` : `${trimmed}/${image}`
}

/**
 * The image reference to use: the prefix from
 * `TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX` (`hub.image.name.prefix` in the
 * properties file) applied to Docker Hub images.
 */
export const resolveImageName = (image: string): Effect.Effect<string> =>
  Config.String("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX").pipe(
    Config.option,
    Effect.map((prefix) => applyImageNamePrefix(image, Option.getOrUndefined(prefix))),
    Effect.orElseSucceed(() => image)
  )

const DockerConfigFile = Schema.Struct({
  auths: Schema.optionalKey(Schema.Record(
    Schema.String,
    Schema.Struct({
      auth: Schema.optionalKey(Schema.String),
      username: Schema.optionalKey(Schema.String),
      password: Schema.optionalKey(Schema.String)
    })
  ))
})

const registryKeys = (registry: string): ReadonlyArray<string> =>
  registry === "docker.io"
    ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
    : [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`]

/**
 * Finds credentials for a registry in Docker's client configuration: the JSON
 * in `DOCKER_AUTH_CONFIG`, else `config.json` in `DOCKER_CONFIG` or
 * `~/.docker`. Reads static `auths` entries only.
 */
export const findRegistryAuth = (registry: string): Effect.Effect<RegistryAuth | undefined> =>
  Effect.gen(function*() {
    const inline = yield* Config.String("DOCKER_AUTH_CONFIG").pipe(Config.option)
    const directory = yield* Config.String("DOCKER_CONFIG").pipe(Config.withDefault(Path.join(Os.homedir(), ".docker")))
    const text = Option.isSome(inline)
      ? inline.value
      : yield* Effect.try(() => Fs.readFileSync(Path.join(directory, "config.json"), "utf8")).pipe(
        Effect.orElseSucceed(() => undefined)
      )
    if (text === undefined) {
      return undefined
    }

    const parsed = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(
      Effect.flatMap(Schema.decodeUnknownEffect(DockerConfigFile))
    )
    const auths = parsed.auths ?? {}
    for (const key of registryKeys(registry)) {
      const entry = auths[key]
      if (entry === undefined) {
        continue
      }
      if (entry.username !== undefined && entry.password !== undefined) {
        return { username: entry.username, password: Redacted.make(entry.password) }
      }
      if (entry.auth !== undefined) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8")
        const colon = decoded.indexOf(":")
        if (colon > 0) {
          return { username: decoded.slice(0, colon), password: Redacted.make(decoded.slice(colon + 1)) }
        }
      }
    }
    return undefined
  }).pipe(
    // NOTE: credential helpers (`credsStore`, `credHelpers`) are not run, and
    // an unreadable configuration counts as having no credentials.
    Effect.catchCause((cause) =>
      Effect.logWarning("Reading Docker client credentials failed", cause).pipe(Effect.as(undefined))
    )
  )

const pull = Effect.fn("Image.pull")(function*(image: string, explicitAuth: RegistryAuth | undefined) {
  const engine = yield* DockerEngine
  const registry = registryOf(image)
  const auth = explicitAuth ?? (yield* findRegistryAuth(registry))

  yield* Effect.logInfo("Pulling image").pipe(
    Effect.annotateLogs({ image, registry, credentials: auth === undefined ? "none" : auth.username })
  )

  const authconfig = auth === undefined ? undefined : {
    username: auth.username,
    password: Redacted.value(auth.password),
    serveraddress: registry
  }
  const toError = (message: string) =>
    missingImagePattern.test(message)
      ? new ImageNotFoundError({ image, engineMessage: message })
      : new ImagePullError({ image, engineMessage: message })

  const stream = yield* engine.call(
    "image pull",
    image,
    (client, signal) =>
      client.pull(image, { abortSignal: signal, ...(authconfig === undefined ? {} : { authconfig }) }) as Promise<
        NodeJS.ReadableStream
      >
  ).pipe(Effect.mapError((error) => toError(error.engineMessage)))

  // The pull reports failures inside the progress stream, not as a status code.
  yield* Effect.callback<void, ImageNotFoundError | ImagePullError>((resume) => {
    engine.client.modem.followProgress(stream, (error: unknown, output: Array<{ readonly error?: string }>) => {
      const streamError = output?.find((event) => typeof event.error === "string")?.error
      if (error) {
        resume(Effect.fail(toError(error instanceof Error ? error.message : String(error))))
      } else if (streamError !== undefined) {
        resume(Effect.fail(toError(streamError)))
      } else {
        resume(Effect.void)
      }
    })
  })

  yield* Effect.logInfo("Pulled image").pipe(Effect.annotateLogs({ image }))
})

/**
 * Makes sure the image is on the engine: pulls it when missing (policy
 * `missing`), every time (policy `always`), or fails with
 * `ImageNotFoundError` when missing under policy `never`.
 */
export const ensureImage = Effect.fn("Image.ensure")(function*(
  image: string,
  policy: PullPolicy,
  auth: RegistryAuth | undefined
) {
  const engine = yield* DockerEngine
  const reference = withDefaultTag(image)

  if (policy === "always") {
    return yield* pull(reference, auth)
  }

  const present = yield* engine.call("image inspect", reference, (client) => client.getImage(reference).inspect()).pipe(
    Effect.as(true),
    Effect.catchIf((error) => error.statusCode === 404, () => Effect.succeed(false)),
    Effect.mapError((error) => new ImagePullError({ image: reference, engineMessage: error.engineMessage }))
  )
  if (present) {
    return
  }
  if (policy === "never") {
    return yield* new ImageNotFoundError({
      image: reference,
      engineMessage: "the image is not on the engine and the pull policy is \"never\""
    })
  }
  return yield* pull(reference, auth)
})
