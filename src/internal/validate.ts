/**
 * Schema validation that reports the first invalid field as an
 * `InvalidSpecError` with its path, its value and the reason.
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { InvalidSpecError } from "../Errors.ts"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const renderPath = (root: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (rendered, key) => typeof key === "number" ? `${rendered}[${key}]` : `${rendered}.${String(key)}`,
    root
  )

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (current, key) =>
      current !== null && typeof current === "object" ? (current as Record<PropertyKey, unknown>)[key] : undefined,
    input
  )

/** Renders a value for an error message: JSON where possible. */
export const renderValue = (value: unknown): string => {
  if (value === undefined) {
    return "(missing)"
  }
  if (value instanceof RegExp) {
    return String(value)
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Builds the error for the first issue of a failed decode. */
export const toInvalidSpecError = (root: string, input: unknown, error: Schema.SchemaError): InvalidSpecError => {
  const first = formatter(error.issue).issues[0]
  const path = (first?.path ?? []).map((segment) =>
    typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
  )
  return new InvalidSpecError({
    path: renderPath(root, path),
    value: renderValue(valueAt(input, path)),
    reason: first?.message ?? error.message
  })
}

/** Decodes `input` with `schema`, or fails with the first invalid field. */
export const validate = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  input: unknown,
  root: string
): Effect.Effect<S["Type"], InvalidSpecError> => {
  const result = Schema.decodeUnknownResult(schema)(input)
  return Result.isSuccess(result)
    ? Effect.succeed(result.success)
    : Effect.fail(toInvalidSpecError(root, input, result.failure))
}
