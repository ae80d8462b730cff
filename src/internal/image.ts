/**
 * Making sure an image is present on the engine, pulling it when the pull
 * policy allows.
 */
import { Effect, Redacted } from "effect"
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

const pull = Effect.fn("Image.pull")(function*(image: string, auth: RegistryAuth | undefined) {
  const engine = yield* DockerEngine

  yield* Effect.logInfo("Pulling image").pipe(Effect.annotateLogs({ image }))

  const authconfig = auth === undefined ? undefined : {
    username: auth.username,
    password: Redacted.value(auth.password),
    serveraddress: image.split("/")[0] ?? ""
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
