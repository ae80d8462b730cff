import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { Container } from "../src/index.ts"
import { applyImageNamePrefix, registryOf } from "../src/internal/image.ts"
import { DockerEngine } from "../src/services/DockerEngine.ts"
import { sessionResources, TestLayer } from "./helpers.ts"

// Registries started by scripts/registry.sh on loopback; both hold
// effect-testcontainers/toolbox:1.
const openRegistry = "127.0.0.1:5000"
const authRegistry = "127.0.0.1:5001"
const credentials = { username: "etc-user", password: "etc-password" }

/** Removes a local tag so the next start has to pull it. */
const untag = (image: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    yield* engine.call("image remove", image, (client) => client.getImage(image).remove({ noprune: true })).pipe(
      Effect.catchIf((error) => error.statusCode === 404, () => Effect.void)
    )
  })

const imageIsLocal = (image: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    return yield* engine.call("image inspect", image, (client) => client.getImage(image).inspect()).pipe(
      Effect.as(true),
      Effect.catchIf((error) => error.statusCode === 404, () => Effect.succeed(false))
    )
  })

const runOnce = (spec: Container.ContainerSpec) =>
  Effect.scoped(Effect.gen(function*() {
    const container = yield* Container.start(spec)
    const result = yield* container.exec(["echo", "pulled and started"])
    assert.strictEqual(result.stdout.trim(), "pulled and started")
    return container.image
  }))

const sleeper = (image: string) => Container.make(image).pipe(Container.withCommand(["sleep", "3600"]))

layer(TestLayer, { excludeTestServices: true, timeout: "60 seconds" })("registry", (it) => {
  it.effect("pulls a missing image", () =>
    Effect.gen(function*() {
      const image = `${openRegistry}/effect-testcontainers/toolbox:1`
      yield* untag(image)
      assert.isFalse(yield* imageIsLocal(image))

      yield* runOnce(sleeper(image))

      assert.isTrue(yield* imageIsLocal(image))
      assert.strictEqual((yield* sessionResources).containers, 0)
    }))

  it.effect("pull policy always pulls", () =>
    Effect.gen(function*() {
      yield* runOnce(
        sleeper(`${openRegistry}/effect-testcontainers/toolbox:1`).pipe(Container.withPullPolicy("always"))
      )
    }))

  it.effect("image missing from registry", () =>
    Effect.gen(function*() {
      const error = yield* Container.start(sleeper(`${openRegistry}/effect-testcontainers/no-such-image:1`)).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(error._tag, "ImageNotFoundError")
      assert.include(error.message, `${openRegistry}/effect-testcontainers/no-such-image:1`)
      assert.strictEqual((yield* sessionResources).containers, 0)
    }))

  it.effect("registry rejects pull without credentials", () =>
    Effect.gen(function*() {
      const image = `${authRegistry}/effect-testcontainers/toolbox:1`
      yield* untag(image)
      const error = yield* Container.start(sleeper(image)).pipe(
        Effect.scoped,
        Effect.flip,
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnvRecord({ DOCKER_CONFIG: "/nonexistent" })
        )
      )
      assert.oneOf(error._tag, ["ImageNotFoundError", "ImagePullError"])
      assert.include(error.message, image)
      assert.match(error.message, /auth|denied|unauthorized/i)
    }))

  it.effect("pulls with explicit credentials", () =>
    Effect.gen(function*() {
      const image = `${authRegistry}/effect-testcontainers/toolbox:1`
      yield* untag(image)
      yield* runOnce(
        sleeper(image).pipe(
          Container.withRegistryAuth({ username: credentials.username, password: Redacted.make(credentials.password) })
        )
      )
      assert.isTrue(yield* imageIsLocal(image))
    }))

  it.effect("pulls with DOCKER_AUTH_CONFIG credentials", () =>
    Effect.gen(function*() {
      const image = `${authRegistry}/effect-testcontainers/toolbox:1`
      yield* untag(image)
      const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")
      yield* runOnce(sleeper(image)).pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnvRecord({ DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [authRegistry]: { auth } } }) })
        )
      )
      assert.isTrue(yield* imageIsLocal(image))
    }))

  it.effect("image name prefix redirects Docker Hub images", () =>
    Effect.gen(function*() {
      const prefixed = `${openRegistry}/effect-testcontainers/toolbox:1`
      yield* untag(prefixed)
      const image = yield* runOnce(sleeper("effect-testcontainers/toolbox:1")).pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnvRecord({ TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX: `${openRegistry}/` })
        )
      )
      assert.strictEqual(image, prefixed)
      assert.isTrue(yield* imageIsLocal(prefixed))
    }))
})

layer(TestLayer)("image names", (it) => {
  it.effect("registry of a reference", () =>
    Effect.sync(() => {
      assert.strictEqual(registryOf("postgres:17"), "docker.io")
      assert.strictEqual(registryOf("library/postgres"), "docker.io")
      assert.strictEqual(registryOf("127.0.0.1:5000/app:1"), "127.0.0.1:5000")
      assert.strictEqual(registryOf("ghcr.io/org/app"), "ghcr.io")
      assert.strictEqual(registryOf("localhost/app"), "localhost")
    }))

  it.effect("prefix only Docker Hub images", () =>
    Effect.sync(() => {
      assert.strictEqual(applyImageNamePrefix("postgres:17", "mirror.local/hub"), "mirror.local/hub/postgres:17")
      assert.strictEqual(applyImageNamePrefix("postgres:17", "mirror.local/hub/"), "mirror.local/hub/postgres:17")
      assert.strictEqual(applyImageNamePrefix("ghcr.io/org/app:1", "mirror.local/hub"), "ghcr.io/org/app:1")
      assert.strictEqual(applyImageNamePrefix("postgres:17", undefined), "postgres:17")
    }))
})
