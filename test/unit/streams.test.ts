import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { compareApiVersions, engineHostName, parseEngineAddress } from "../../src/internal/engineAddress.ts"
import { demultiplex, lastLines, listeningPorts } from "../../src/internal/streams.ts"

const frame = (type: number, text: string): Buffer => {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

describe("demultiplex", () => {
  it("splits stdout and stderr frames", () => {
    const output = demultiplex(Buffer.concat([frame(1, "out 1\n"), frame(2, "err\n"), frame(1, "out 2\n")]))
    assert.strictEqual(output.stdout, "out 1\nout 2\n")
    assert.strictEqual(output.stderr, "err\n")
  })

  it("returns raw TTY output as stdout", () => {
    const output = demultiplex(Buffer.from("plain text from a tty\n"))
    assert.strictEqual(output.stdout, "plain text from a tty\n")
    assert.strictEqual(output.stderr, "")
  })
})

describe("listeningPorts", () => {
  const procNetTcp = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
    "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1",
    "   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1",
    "   0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 0 0 0 0 0 4 1"
  ].join("\n")

  it("keeps only listening sockets", () => {
    const ports = listeningPorts(procNetTcp)
    assert.isTrue(ports.has(8080))
    assert.isTrue(ports.has(5432))
    assert.isTrue(ports.has(6379))
    assert.isFalse(ports.has(54321), "an established connection is not a listener")
    assert.strictEqual(ports.size, 3)
  })

  it("handles empty input", () => {
    assert.strictEqual(listeningPorts("").size, 0)
  })
})

describe("lastLines", () => {
  it("keeps the last non-empty lines", () => {
    assert.strictEqual(lastLines("a\n\nb\nc\n", 2), "b\nc")
  })
})

describe("parseEngineAddress", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["unix:///var/run/docker.sock", "Socket /var/run/docker.sock"],
    ["/run/user/1000/docker.sock", "Socket /run/user/1000/docker.sock"],
    ["tcp://docker:2375", "Tcp docker 2375"],
    ["tcp://10.0.0.5", "Tcp 10.0.0.5 2375"],
    ["tcp://[::1]:2376", "Tcp ::1 2376"],
    ["ssh://deploy@build-host", "Ssh build-host 22"]
  ]
  for (const [input, expected] of cases) {
    it(`parses ${input}`, () => {
      const parsed = parseEngineAddress(input)
      assert.isTrue(Result.isSuccess(parsed))
      if (Result.isFailure(parsed)) return
      const address = parsed.success
      const rendered = address._tag === "Socket"
        ? `Socket ${address.path}`
        : `${address._tag} ${address.host} ${address.port}`
      assert.strictEqual(rendered, expected)
    })
  }

  it("rejects an unknown scheme with the value", () => {
    const parsed = parseEngineAddress("http2://docker")
    assert.isTrue(Result.isFailure(parsed))
    if (Result.isSuccess(parsed)) return
    assert.include(parsed.failure, "http2://docker")
    assert.include(parsed.failure, "tcp://host:port")
  })

  it("rejects a relative socket path", () => {
    assert.isTrue(Result.isFailure(parseEngineAddress("unix://docker.sock")))
  })

  it("derives the host name of mapped ports", () => {
    assert.strictEqual(engineHostName({ _tag: "Socket", path: "/var/run/docker.sock" }), "localhost")
    assert.strictEqual(engineHostName({ _tag: "Tcp", host: "docker", port: 2375 }), "docker")
  })

  it("compares API versions numerically", () => {
    assert.isTrue(compareApiVersions("1.41", "1.9") > 0)
    assert.isTrue(compareApiVersions("1.41", "1.47") < 0)
    assert.strictEqual(compareApiVersions("1.44", "1.44"), 0)
  })
})
