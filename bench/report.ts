/**
 * Turns the samples of a run into Markdown: the figure table, the targets,
 * the engine-call counts and a call timeline per implementation. Prints it
 * and replaces the run's section of the results page.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { ColdSample } from "./child.ts"
import type { Implementation, LibraryName } from "./implementations.ts"
import type { EngineCall, Recording } from "./recorder.ts"
import { repositoryRoot, type Settings } from "./settings.ts"
import { formatMillis, formatRatio, markdownTable, summarize } from "./stats.ts"

/** One in-process sample, in milliseconds. */
export interface SingleSample {
  /** From the start call to the `200 ok` response to the benchmark's GET. */
  readonly startMillis: number
  readonly releaseMillis: number
  /** HTTP probes that failed before that response. */
  readonly probeFailures: number
}

/** One profiled start, with its recording. Times are `performance.now()` milliseconds. */
export interface ProfileSample {
  readonly startedAt: number
  readonly readyAt: number
  readonly releasedAt: number
  readonly hostPort: number
  readonly recording: Recording
}

/** Every sample of a run, by implementation id. */
export interface Results {
  readonly implementations: ReadonlyArray<Implementation>
  readonly cold: Map<string, Array<ColdSample>>
  readonly warm: Map<string, Array<SingleSample>>
  readonly parallel: Map<string, Array<SingleSample>>
  readonly profile: Map<string, Array<ProfileSample>>
}

/** Engine facts from its version and info endpoints. */
export interface EngineFacts {
  readonly serverVersion: string
  readonly apiVersion: string
  readonly os: string
  readonly kernel: string
  readonly storageDriver: string
  readonly engineCpus: number
  readonly engineMemoryBytes: number
}

/** The machine the benchmark ran on. */
export interface MachineFacts {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryBytes: number
  readonly node: string
  readonly testcontainersVersion: string | undefined
}

/** Everything the report is made from. */
export interface ReportInput {
  readonly settings: Settings
  readonly results: Results
  readonly engine: EngineFacts
  readonly machine: MachineFacts
  readonly command: string
  /** The maximum number of other users' containers running at the start of a round. */
  readonly foreignContainers: number
  /** The 1-minute load average at the start of each round. */
  readonly loadAverages: ReadonlyArray<number>
  readonly commit: string
  readonly date: string
  readonly durationSeconds: number
}

const libraryLabels: Record<LibraryName, string> = {
  dockerode: "dockerode",
  "effect-testcontainers": "effect-testcontainers",
  testcontainers: "testcontainers-node"
}

const floorId = "dockerode"
const libraryId = "etc"
const candidateId = "etc-candidate"

const gibibytes = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`

const values = <A>(samples: ReadonlyArray<A> | undefined, pick: (sample: A) => number) => (samples ?? []).map(pick)

/**
 * The median of per-round ratios. Runs interleave the implementations, so
 * sample `i` of each implementation comes from the same round, and machine
 * load that drifts from round to round cancels out of each ratio.
 */
const pairedRatio = (samples: ReadonlyArray<number>, floor: ReadonlyArray<number>): number | undefined =>
  summarize(
    samples.slice(0, Math.min(samples.length, floor.length)).map((value, index) => value / floor[index]!)
  )?.median

/** A table row: label, median, min, max, ratios to the floor, sample count. */
const figureRow = (
  figure: string,
  label: string,
  samples: ReadonlyArray<number>,
  floor: ReadonlyArray<number>,
  paired: boolean
) => {
  const summary = summarize(samples)
  const floorSummary = summarize(floor)
  if (summary === undefined) {
    return []
  }
  const pairedValue = paired ? pairedRatio(samples, floor) : undefined
  return [[
    figure,
    label,
    formatMillis(summary.median),
    formatMillis(summary.min),
    formatMillis(summary.max),
    floorSummary === undefined ? "" : formatRatio(summary.median / floorSummary.median),
    pairedValue === undefined ? "—" : formatRatio(pairedValue),
    String(summary.count)
  ]]
}

const figureTable = (input: ReportInput): string => {
  const { results, settings } = input
  const rows: Array<Array<string>> = []

  // Import figures are per library, except that a candidate copy of this library gets its own rows.
  const importGroup = (implementation: Implementation) =>
    implementation.id === candidateId ? implementation.label : libraryLabels[implementation.library]
  const groups = [...new Set(results.implementations.map(importGroup))]
  const coldByGroup = (group: string) =>
    results.implementations
      .filter((implementation) => importGroup(implementation) === group)
      .flatMap((implementation) => results.cold.get(implementation.id) ?? [])
  const perLibrary = (figure: string, pick: (sample: ColdSample) => number) => {
    const floor = values(coldByGroup(libraryLabels.dockerode), pick)
    for (const group of groups) {
      rows.push(...figureRow(figure, group, values(coldByGroup(group), pick), floor, false))
    }
  }
  const perImplementation = <A>(
    figure: string,
    samples: Map<string, Array<A>>,
    pick: (sample: A) => number
  ) => {
    const floor = values(samples.get(floorId), pick)
    for (const implementation of results.implementations) {
      rows.push(...figureRow(figure, implementation.label, values(samples.get(implementation.id), pick), floor, true))
    }
  }

  perLibrary("Import", (sample) => sample.importMillis)
  perLibrary("Import + first engine call", (sample) => sample.importAndFirstCallMillis)
  perImplementation("Cold start to ready", results.cold, (sample) => sample.startMillis)
  perImplementation("Cold release", results.cold, (sample) => sample.releaseMillis)
  perImplementation("Warm start to ready", results.warm, (sample) => sample.startMillis)
  perImplementation("Warm release", results.warm, (sample) => sample.releaseMillis)
  perImplementation(`${settings.parallelSize} in parallel: start to all ready`, results.parallel, (s) => s.startMillis)
  perImplementation(`${settings.parallelSize} in parallel: release all`, results.parallel, (s) => s.releaseMillis)

  return markdownTable(
    ["Figure", "Implementation", "Median ms", "Min ms", "Max ms", "vs floor, medians", "vs floor, paired", "n"],
    rows,
    2
  )
}

const median = (samples: ReadonlyArray<number>) => summarize(samples)?.median

const targetLines = (results: Results): Array<string> => {
  const warmSamples = (id: string) => values(results.warm.get(id), (sample) => sample.startMillis)
  const warm = (id: string) => median(warmSamples(id))
  const parallel = (id: string) => median(values(results.parallel.get(id), (sample) => sample.startMillis))
  const ratio = (numerator: number | undefined, denominator: number | undefined) =>
    numerator === undefined || denominator === undefined ? undefined : numerator / denominator
  const lines: Array<string> = []
  const check = (description: string, value: number | undefined, limit: number | undefined, paired?: number) => {
    if (value === undefined) {
      return
    }
    const verdict = limit === undefined
      ? "no target"
      : `target ≤ ${formatRatio(limit)}: ${value <= limit ? "met" : "missed"}`
    const pairedText = paired === undefined ? "" : `; paired ${formatRatio(paired)}`
    lines.push(`- ${description}: ${formatRatio(value)} (${verdict}${pairedText})`)
  }
  const pairedWarm = (id: string, floor: string) => pairedRatio(warmSamples(id), warmSamples(floor))

  const ours = results.implementations.filter((implementation) =>
    implementation.id === libraryId || implementation.id === candidateId
  )
  for (const implementation of ours) {
    const single = warm(implementation.id)
    const label = implementation.label
    const id = implementation.id
    check(`Warm start, ${label} / dockerode`, ratio(single, warm(floorId)), 1.15, pairedWarm(id, floorId))
    check(
      `Warm start, ${label} / testcontainers-node default wait`,
      ratio(single, warm("tc-default")),
      0.7,
      pairedWarm(id, "tc-default")
    )
    check(
      `Warm start, ${label} / testcontainers-node listening ports`,
      ratio(single, warm("tc-ports")),
      0.7,
      pairedWarm(id, "tc-ports")
    )
    check(`${label}: parallel start / warm single start`, ratio(parallel(implementation.id), single), 3)
  }
  check("dockerode: parallel start / warm single start", ratio(parallel(floorId), warm(floorId)), undefined)
  return lines
}

const earlyReadyLines = (results: Results): Array<string> =>
  results.implementations
    .filter((implementation) => implementation.id !== floorId)
    .map((implementation) => {
      const failures = [
        ...values(results.cold.get(implementation.id), (sample) => sample.probeFailures),
        ...values(results.warm.get(implementation.id), (sample) => sample.probeFailures),
        ...values(results.parallel.get(implementation.id), (sample) => sample.probeFailures)
      ]
      const failed = failures.filter((count) => count > 0).length
      return `- ${implementation.label}: ${failed} of ${failures.length} samples`
    })

// ---------------------------------------------------------------------------
// Engine calls.

const callKey = (call: EngineCall) => `${call.method} ${call.path}`

const isExecCreate = (call: EngineCall) => call.method === "POST" && call.path === "/containers/{id}/exec"

interface ProfileFigures {
  readonly startCalls: ReadonlyArray<EngineCall>
  readonly releaseCalls: ReadonlyArray<EngineCall>
  readonly connects: number
  readonly startMillis: number
  readonly engineMillis: number
}

const profileFigures = (sample: ProfileSample): ProfileFigures => {
  const calls = sample.recording.calls
  const startCalls = calls.filter((call) => call.startedAt < sample.readyAt)
  const releaseCalls = calls.filter((call) => call.startedAt >= sample.readyAt)
  const connects =
    sample.recording.connects.filter((connect) => connect.port === sample.hostPort && connect.at < sample.readyAt)
      .length
  const engineMillis = startCalls.reduce(
    (sum, call) => sum + ((call.endedAt ?? sample.readyAt) - call.startedAt),
    0
  )
  return { startCalls, releaseCalls, connects, startMillis: sample.readyAt - sample.startedAt, engineMillis }
}

const range = (numbers: ReadonlyArray<number>, format: (value: number) => string = String) => {
  const summary = summarize(numbers)
  if (summary === undefined) {
    return ""
  }
  return summary.min === summary.max
    ? format(summary.median)
    : `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`
}

const meanCounts = (callLists: ReadonlyArray<ReadonlyArray<EngineCall>>): string => {
  const counts = new Map<string, number>()
  for (const calls of callLists) {
    for (const call of calls) {
      counts.set(callKey(call), (counts.get(callKey(call)) ?? 0) + 1)
    }
  }
  return [...counts.entries()]
    .map(([key, count]) => {
      const mean = count / callLists.length
      return `${key} ×${Number.isInteger(mean) ? mean : mean.toFixed(1)}`
    })
    .join("; ")
}

const engineCallTable = (results: Results): string => {
  const rows = results.implementations.flatMap((implementation) => {
    const samples = results.profile.get(implementation.id) ?? []
    if (samples.length === 0) {
      return []
    }
    const figures = samples.map(profileFigures)
    return [[
      implementation.label,
      range(figures.map((figure) => figure.startCalls.length)),
      range(figures.map((figure) => figure.startCalls.filter(isExecCreate).length)),
      range(figures.map((figure) => figure.connects)),
      range(figures.map((figure) => figure.releaseCalls.length)),
      range(figures.map((figure) => figure.startMillis), formatMillis),
      range(figures.map((figure) => figure.engineMillis), formatMillis)
    ]]
  })
  return markdownTable(
    [
      "Implementation",
      "Engine calls per start",
      "Execs per start",
      "TCP connects per start",
      "Engine calls per release",
      "Start ms",
      "Time in engine calls ms"
    ],
    rows
  )
}

const engineCallBreakdown = (results: Results): Array<string> =>
  results.implementations.flatMap((implementation) => {
    const samples = results.profile.get(implementation.id) ?? []
    if (samples.length === 0) {
      return []
    }
    const figures = samples.map(profileFigures)
    return [
      `- ${implementation.label}, start: ${meanCounts(figures.map((figure) => figure.startCalls))}; release: ${
        meanCounts(figures.map((figure) => figure.releaseCalls))
      }`
    ]
  })

/** Renders the call timeline of the profiled start with the median start time. */
const timeline = (samples: ReadonlyArray<ProfileSample>): string => {
  const sorted = [...samples].sort((left, right) => (left.readyAt - left.startedAt) - (right.readyAt - right.startedAt))
  const sample = sorted[Math.floor((sorted.length - 1) / 2)]
  if (sample === undefined) {
    return ""
  }
  const offset = (at: number) => `+${formatMillis(at - sample.startedAt).padStart(6)} ms`
  const events: Array<{ readonly at: number; readonly text: string }> = [
    ...sample.recording.calls.map((call) => ({
      at: call.startedAt,
      text: `${callKey(call)}${call.failed ? " (failed)" : ""}  ${
        call.endedAt === undefined ? "(no response)" : `${formatMillis(call.endedAt - call.startedAt)} ms`
      }`
    })),
    ...sample.recording.connects
      .filter((connect) => connect.port === sample.hostPort)
      .map((connect) => ({ at: connect.at, text: `TCP connect to the published port` })),
    { at: sample.readyAt, text: "ready: the benchmark's HTTP GET succeeded" },
    { at: sample.releasedAt, text: "released" }
  ]
  return events
    .sort((left, right) => left.at - right.at)
    .map((event) => `${offset(event.at)}  ${event.text}`)
    .join("\n")
}

// ---------------------------------------------------------------------------

/** Renders the run's section of the results page. */
export const renderReport = (input: ReportInput): string => {
  const { engine, machine, results, settings } = input
  const sections = [
    `### Results: ${settings.record}`,
    "",
    `- Command: \`${input.command}\``,
    `- Date: ${input.date}; commit ${input.commit}; run time ${input.durationSeconds.toFixed(0)} s`,
    `- Machine: ${machine.cpus} CPUs (nproc), ${
      gibibytes(machine.memoryBytes)
    } memory, ${machine.cpuModel}; Node ${machine.node}`,
    `- Engine: Docker ${engine.serverVersion} (API ${engine.apiVersion}), ${engine.os}, kernel ${engine.kernel}, storage driver ${engine.storageDriver}, ${engine.engineCpus} CPUs, ${
      gibibytes(engine.engineMemoryBytes)
    }`,
    `- Library under test: \`${Path.relative(repositoryRoot, settings.libraryEntry)}\`${
      settings.candidateEntry === undefined ? "" : `; candidate: \`${settings.candidateEntry}\``
    }`,
    `- Compared: testcontainers-node ${
      machine.testcontainersVersion ?? "(not installed)"
    } with its reaper disabled; image \`${settings.image}\``,
    `- Other work on the machine at the start of a round: at most ${input.foreignContainers} containers of others running; 1-minute load average ${
      range(input.loadAverages, (value) => value.toFixed(1))
    }`,
    `- Server: listens ${settings.serverDelayMillis} ms after the container starts; this library's poll interval: ${
      settings.pollIntervalMillis === undefined ? "its default" : `${settings.pollIntervalMillis} ms`
    }; the benchmark's HTTP probe every ${settings.probeIntervalMillis} ms`,
    `- Samples: ${settings.coldRuns} cold child processes, ${settings.warmRuns} warm starts, ${settings.parallelRuns} parallel rounds of ${settings.parallelSize}, ${settings.profileRuns} profiled starts per implementation`,
    "",
    "#### Times",
    "",
    "Start to ready ends when the benchmark's own HTTP GET gets `200 ok`. Ratios are against raw dockerode: of the medians, and the median of per-round ratios (paired), which cancels load that drifts between rounds.",
    "",
    figureTable(input),
    ""
  ]
  const targets = targetLines(results)
  if (targets.length > 0) {
    sections.push("#### Targets", "", ...targets, "")
  }
  sections.push(
    "#### HTTP checks that failed after an implementation reported ready",
    "",
    ...earlyReadyLines(results),
    ""
  )
  if ([...results.profile.values()].some((samples) => samples.length > 0)) {
    sections.push(
      "#### Engine calls",
      "",
      "From the profiled starts. The median is followed by the range when runs differ.",
      "",
      engineCallTable(results),
      "",
      ...engineCallBreakdown(results),
      "",
      "#### Timelines",
      "",
      "The profiled start with the median start time of each implementation. Each line is the moment a call was sent and how long its response took. An exec start responds when its stream is attached, so the command's run time shows as the gap before the exec inspect.",
      ""
    )
  }
  for (const implementation of results.implementations) {
    const text = timeline(results.profile.get(implementation.id) ?? [])
    if (text !== "") {
      sections.push(`${implementation.label}:`, "", "```text", text, "```", "")
    }
  }
  return sections.join("\n")
}

const markers = (record: string) => ({
  start: `<!-- bench:${record}:start -->`,
  end: `<!-- bench:${record}:end -->`
})

/** Prints the report and replaces (or appends) the run's section of the results page. */
export const writeReport = async (input: ReportInput): Promise<void> => {
  const report = renderReport(input)
  process.stdout.write(`${report}\n`)
  const output = input.settings.output
  if (output === undefined) {
    return
  }
  const { start, end } = markers(input.settings.record)
  const section = `${start}\n\n${report}\n${end}`
  const existing = Fs.existsSync(output) ? Fs.readFileSync(output, "utf8") : "# Benchmarks\n"
  const startIndex = existing.indexOf(start)
  const endIndex = existing.indexOf(end)
  const updated = startIndex !== -1 && endIndex > startIndex
    ? `${existing.slice(0, startIndex)}${section}${existing.slice(endIndex + end.length)}`
    : `${existing.trimEnd()}\n\n${section}\n`
  Fs.writeFileSync(output, updated)
  // A page in the repository is formatted like the rest of it, so dprint check stays clean after a run.
  if (!Path.relative(repositoryRoot, output).startsWith("..")) {
    const dprint = Path.join(repositoryRoot, "node_modules", ".bin", "dprint")
    const formatted = ChildProcess.spawnSync(dprint, ["fmt", output], { cwd: repositoryRoot, encoding: "utf8" })
    if (formatted.status !== 0) {
      process.stderr.write(`[bench] could not format ${output} with dprint: ${formatted.stderr || formatted.error}\n`)
    }
  }
  process.stderr.write(`[bench] wrote the "${input.settings.record}" section of ${output}\n`)
}
