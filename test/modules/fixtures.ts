/**
 * Images and helpers of the module tests and examples. The tests use the
 * local images that scripts/images.sh builds and never pull: set
 * ETC_POSTGRES_IMAGE, ETC_REDIS_IMAGE or ETC_TOOLBOX_IMAGE to use others.
 */
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import * as Crypto from "node:crypto"
import * as Container from "../../src/Container.ts"
import { DockerEngine } from "../../src/services/DockerEngine.ts"
import { sessionResources } from "../helpers.ts"

/** PostgreSQL 15 with the official image's environment contract and `psql`. */
export const postgresImage = process.env.ETC_POSTGRES_IMAGE ?? "effect-testcontainers/postgres:15"

/** Redis 7 with `redis-cli`. */
export const redisImage = process.env.ETC_REDIS_IMAGE ?? "effect-testcontainers/redis:7"

/** busybox with sh, wget and nc, and neither PostgreSQL nor Redis. */
export const toolboxImage = process.env.ETC_TOOLBOX_IMAGE ?? "effect-testcontainers/toolbox:1"

/** A `customize` option that fails instead of pulling a missing image. */
export const neverPull = (spec: Container.ContainerSpec): Container.ContainerSpec =>
  Container.withPullPolicy(spec, "never")

/** A label key that tags the containers of one test case, so the test can count them. */
export const caseLabel = "io.effect-testcontainers.test-case"

/** A fresh value for {@link caseLabel}. */
export const newCaseId = (): string => Crypto.randomBytes(6).toString("hex")

/** Counts the containers, running or not, labelled with `caseId`. */
export const countCaseContainers = (caseId: string) =>
  Effect.gen(function*() {
    const engine = yield* DockerEngine
    const filters = JSON.stringify({ label: [`${caseLabel}=${caseId}`] })
    const containers = yield* engine.call(
      "container list",
      caseId,
      (client) => client.listContainers({ all: true, filters })
    )
    return containers.length
  })

/** Asserts that this session has no containers or networks left on the engine. */
export const expectNothingLeft = Effect.gen(function*() {
  const left = yield* sessionResources
  assert.strictEqual(left.containers, 0, "containers left behind")
  assert.strictEqual(left.networks, 0, "networks left behind")
})

/** The error an exit failed with, or `undefined` when it succeeded or died. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
