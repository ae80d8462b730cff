import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import {
  decodeProperties,
  environmentNameToPropertyKey,
  parseProperties,
  type PropertyEntry,
  propertyKeyToEnvironmentName
} from "../../src/internal/properties.ts"

const parse = (text: string): ReadonlyArray<PropertyEntry> => {
  const result = parseProperties(text)
  assert.isTrue(Result.isSuccess(result), Result.isFailure(result) ? result.failure.reason : "")
  return Result.isSuccess(result) ? result.success : []
}

const valueOf = (entries: ReadonlyArray<PropertyEntry>, key: string): string | undefined =>
  entries.findLast((entry) => entry.key === key)?.value

describe("parseProperties", () => {
  it("skips # and ! comments", () => {
    const entries = parse("# connection.mode=gateway_ip\n! host.override=example\nconnection.mode=bridge_ip\n")
    assert.deepStrictEqual(entries, [{ key: "connection.mode", value: "bridge_ip", line: 3 }])
  })

  it("accepts = : and whitespace separators", () => {
    const entries = parse("a=1\nb:2\nc 3\nd = 4\ne\t:\t5\n  f   6")
    assert.deepStrictEqual(entries.map((entry) => [entry.key, entry.value]), [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
      ["d", "4"],
      ["e", "5"],
      ["f", "6"]
    ])
  })

  it("reads escapes in keys and values", () => {
    const entries = parse("key\\ with\\:colon = tab\\there\\u0041\\\\n\n")
    assert.strictEqual(valueOf(entries, "key with:colon"), "tab\there" + "A" + "\\n")
  })

  it("joins continuation lines", () => {
    const entries = parse("docker.host = tcp://\\\n    docker:\\\n\t2375\nnext=1")
    assert.strictEqual(valueOf(entries, "docker.host"), "tcp://docker:2375")
    assert.strictEqual(entries[1]?.line, 4)
  })

  it("numbers CRLF and CR lines", () => {
    const entries = parse("# comment\r\na=1\r\n\rb=2")
    assert.deepStrictEqual(entries.map((entry) => entry.line), [2, 4])
  })

  it("keeps the last of repeated keys", () => {
    const entries = parse("connection.mode=gateway_ip\nconnection.mode=docker_host\n")
    assert.strictEqual(valueOf(entries, "connection.mode"), "docker_host")
  })

  it("reads a key without value as empty", () => {
    const entries = parse("connection.mode\n")
    assert.strictEqual(valueOf(entries, "connection.mode"), "")
  })

  it("ignores a byte order mark", () => {
    const entries = parse("\uFEFFconnection.mode=bridge_ip")
    assert.strictEqual(entries[0]?.key, "connection.mode")
  })

  it("rejects a malformed unicode escape", () => {
    const result = parseProperties("a=1\n\nhost.override = h\\u00zz\n")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.line, 3)
      assert.include(result.failure.reason, `malformed escape "\\u00zz"`)
    }
  })

  it("accepts an escaped backslash before u", () => {
    const entries = parse("path=C:\\\\users")
    assert.strictEqual(valueOf(entries, "path"), "C:\\users")
  })

  it("reports the line inside a continued value", () => {
    const result = parseProperties("a=1\nb = first \\\n  \\uXYZW")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.line, 3)
    }
  })
})

describe("decodeProperties", () => {
  it("decodes UTF-8", () => {
    const result = decodeProperties(new TextEncoder().encode("name=Zoë\n"))
    assert.deepStrictEqual(result, Result.succeed("name=Zoë\n"))
  })

  it("names the line of invalid UTF-8", () => {
    const bytes = Uint8Array.from([...new TextEncoder().encode("a=1\nb=2\nname=Zo"), 0xeb, 0x0a])
    const result = decodeProperties(bytes)
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.line, 3)
      assert.match(result.failure.reason, /not valid UTF-8/)
    }
  })
})

describe("property key mapping", () => {
  it("maps keys to environment names", () => {
    assert.strictEqual(propertyKeyToEnvironmentName("connection.mode"), "TESTCONTAINERS_CONNECTION_MODE")
    assert.strictEqual(propertyKeyToEnvironmentName("host.override"), "TESTCONTAINERS_HOST_OVERRIDE")
    assert.strictEqual(propertyKeyToEnvironmentName("docker.host"), "DOCKER_HOST")
    assert.strictEqual(propertyKeyToEnvironmentName("docker.tls.verify"), "DOCKER_TLS_VERIFY")
    assert.strictEqual(
      propertyKeyToEnvironmentName("ryuk.container-privileged"),
      "TESTCONTAINERS_RYUK_CONTAINER_PRIVILEGED"
    )
  })

  it("maps environment names to keys", () => {
    assert.strictEqual(environmentNameToPropertyKey("TESTCONTAINERS_CONNECTION_MODE"), "connection.mode")
    assert.strictEqual(environmentNameToPropertyKey("TESTCONTAINERS_HOST_OVERRIDE"), "host.override")
    assert.strictEqual(environmentNameToPropertyKey("DOCKER_HOST"), "docker.host")
    assert.strictEqual(environmentNameToPropertyKey("DOCKER_CERT_PATH"), "docker.cert.path")
  })

  it("maps unrelated names to nothing", () => {
    assert.isUndefined(environmentNameToPropertyKey("HOME"))
    assert.isUndefined(environmentNameToPropertyKey("TESTCONTAINERS_"))
  })
})
