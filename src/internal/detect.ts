/**
 * Detection of the connection mode when no setting forces one: does this
 * process run in a container, can the engine find that container, and does
 * this process share the engine host's network.
 *
 * The file, host name and interface probes are injectable, so the decision
 * table can be tested without a container.
 */
import { Effect, Predicate, Schema } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import type { Mode } from "../services/ConnectionMode.ts"
import type { DockerEngine } from "../services/DockerEngine.ts"
import { type EngineAddress, formatEngineAddress } from "./engineAddress.ts"
import { ContainerInspect } from "./inspect.ts"

/** Reads of the local system that detection relies on. */
export interface DetectionProbes {
  readonly fileExists: (path: string) => boolean
  /** Returns the file's text, or `undefined` when it cannot be read. */
  readonly readFile: (path: string) => string | undefined
  readonly hostname: () => string
  /** Tells whether an IP address belongs to this process's network namespace. */
  readonly isLocalAddress: (address: string) => Effect.Effect<boolean>
}

/**
 * Binds a TCP server to port 0 of the address and closes it at once: the bind
 * succeeds only for an address of this network namespace. Unlike
 * `os.networkInterfaces()`, this also finds addresses of interfaces without
 * carrier, such as an engine bridge with no container attached.
 */
const canBind = (address: string): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const server = Net.createServer()
    server.once("error", () => resume(Effect.succeed(false)))
    server.listen({ port: 0, host: address, exclusive: true }, () => {
      server.close(() => resume(Effect.succeed(true)))
    })
  })

/** Probes of the real system through `node:fs` and `node:os`. */
export const systemProbes: DetectionProbes = {
  fileExists: (path) => Fs.existsSync(path),
  readFile: (path) => {
    try {
      return Fs.readFileSync(path, "utf8")
    } catch {
      return undefined
    }
  },
  hostname: () => Os.hostname(),
  isLocalAddress: canBind
}

/** A container id this process may run in, and where it was read. */
export interface ContainerIdCandidate {
  readonly id: string
  /** `hostname`, `/proc/self/mountinfo` or `/proc/self/cgroup`. */
  readonly source: string
}

/** Local evidence of running in a container. */
export interface ContainerHints {
  /** The files that mark a container, such as `/.dockerenv`. Empty outside a container. */
  readonly markers: ReadonlyArray<string>
  /** Ids to look up in the engine, in order. */
  readonly candidates: ReadonlyArray<ContainerIdCandidate>
}

const containerCgroupPattern = /\/(?:docker|kubepods|containerd|libpod|lxc)[/.-]/
const mountinfoIdPattern = /containers\/([0-9a-f]{64})\//g
const cgroupIdPattern = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/gm
const hostnameIdPattern = /^[0-9a-f]{12,64}$/

/**
 * Collects the container markers and the candidate ids of this process's own
 * container: the host name when it looks like an id prefix (the engine's
 * default), then ids in `/proc/self/mountinfo` (the engine bind-mounts
 * `/etc/hostname` and `/etc/hosts` from the container's directory), then ids
 * in `/proc/self/cgroup`.
 */
export const collectContainerHints = (probes: DetectionProbes): ContainerHints => {
  const markers: Array<string> = []
  for (const path of ["/.dockerenv", "/run/.containerenv"]) {
    if (probes.fileExists(path)) {
      markers.push(path)
    }
  }
  const cgroup = probes.readFile("/proc/self/cgroup") ?? ""
  if (containerCgroupPattern.test(cgroup)) {
    markers.push("/proc/self/cgroup")
  }
  const mountinfo = probes.readFile("/proc/self/mountinfo") ?? ""
  const mountinfoIds = [...mountinfo.matchAll(mountinfoIdPattern)].map((match) => match[1] ?? "")
  if (mountinfoIds.length > 0) {
    markers.push("/proc/self/mountinfo")
  }

  const candidates: Array<ContainerIdCandidate> = []
  const add = (id: string, source: string) => {
    if (id !== "" && !candidates.some((candidate) => candidate.id === id)) {
      candidates.push({ id, source })
    }
  }
  const hostname = probes.hostname()
  if (hostnameIdPattern.test(hostname)) {
    add(hostname, "hostname")
  }
  for (const id of mountinfoIds) {
    add(id, "/proc/self/mountinfo")
  }
  for (const match of cgroup.matchAll(cgroupIdPattern)) {
    add(match[1] ?? "", "/proc/self/cgroup")
  }

  return { markers, candidates }
}

/** This process's own container as the engine reports it. */
export interface OwnContainer {
  readonly id: string
  /** The name without the leading `/`. */
  readonly name: string
  readonly networkMode: string
  /** The container's networks by name. */
  readonly networks: ReadonlyArray<{
    readonly name: string
    readonly id: string
    readonly gateway: string | undefined
  }>
  /** The lookup that found it, such as `its hostname 3f2a9c1d7e4b`. */
  readonly foundBy: string
}

/** The outcome of looking up this process's own container. */
export type OwnContainerLookup =
  | { readonly _tag: "Found"; readonly container: OwnContainer }
  | {
    readonly _tag: "NotFound"
    /** Each id tried, with where it was read and why it did not match. */
    readonly tried: ReadonlyArray<string>
  }

/** Converts inspect data to an `OwnContainer`. */
export const toOwnContainer = (inspect: ContainerInspect, foundBy: string): OwnContainer => ({
  id: inspect.Id,
  name: inspect.Name.replace(/^\//, ""),
  networkMode: inspect.HostConfig.NetworkMode ?? "default",
  networks: Object.entries(inspect.NetworkSettings.Networks ?? {}).map(([name, settings]) => ({
    name,
    id: settings.NetworkID ?? "",
    gateway: settings.Gateway || undefined
  })),
  foundBy
})

/**
 * Looks up each candidate id in the engine and returns the first container
 * whose id starts with it. An engine error on one candidate is recorded and
 * the next is tried, so this never fails.
 */
export const findOwnContainer = Effect.fnUntraced(function*(
  engine: DockerEngine["Service"],
  candidates: ReadonlyArray<ContainerIdCandidate>
) {
  const tried: Array<string> = []
  for (const candidate of candidates) {
    const raw = yield* engine.call(
      "inspectContainer",
      candidate.id,
      (client, signal) => client.getContainer(candidate.id).inspect({ abortSignal: signal })
    ).pipe(Effect.result)
    if (raw._tag === "Failure") {
      const reason = raw.failure.statusCode === 404 ? "no such container" : raw.failure.engineMessage
      tried.push(`${candidate.id.slice(0, 12)} from ${candidate.source}: ${reason}`)
      continue
    }
    const inspect = yield* Schema.decodeUnknownEffect(ContainerInspect)(raw.success).pipe(Effect.option)
    if (inspect._tag === "None" || !inspect.value.Id.startsWith(candidate.id)) {
      tried.push(`${candidate.id.slice(0, 12)} from ${candidate.source}: matched another container`)
      continue
    }
    const foundBy = candidate.source === "hostname"
      ? `its hostname ${candidate.id}`
      : `the id in ${candidate.source}`
    return { _tag: "Found", container: toOwnContainer(inspect.value, foundBy) } satisfies OwnContainerLookup
  }
  return { _tag: "NotFound", tried } satisfies OwnContainerLookup
})

/** The gateway addresses of the engine's bridge networks, the default bridge first. */
export const engineBridgeGateways = Effect.fnUntraced(function*(engine: DockerEngine["Service"]) {
  const networks = yield* engine.call(
    "listNetworks",
    "engine",
    (client, signal) => client.listNetworks({ abortSignal: signal })
  )
  const isDefault = (network: (typeof networks)[number]) =>
    network.Options?.["com.docker.network.bridge.default_bridge"] === "true"
  const ordered = [...networks.filter(isDefault), ...networks.filter((network) => !isDefault(network))]
  return ordered
    .filter((network) => network.Driver === "bridge")
    .flatMap((network) => (network.IPAM?.Config ?? []).map((config) => config.Gateway))
    .filter(Predicate.isString)
    .filter((gateway) => gateway !== "")
})

/** A chosen mode and the sentence that explains it. */
export interface Decision {
  readonly mode: Mode
  readonly reason: string
}

/** Facts that decide the mode before any engine lookup. */
export interface LocalFacts {
  /** The host override and where it was set, when one is set. */
  readonly hostOverride: { readonly value: string; readonly origin: string } | undefined
  readonly engineAddress: EngineAddress
  /** Where the engine address came from, such as `DOCKER_HOST`. */
  readonly engineAddressSource: string
  readonly hints: ContainerHints
}

/**
 * Decides the mode from local facts alone: `docker_host` when a host override
 * is set, when the engine is reached over TCP or SSH, or when this process does
 * not run in a container. Returns `undefined` when the engine must be asked,
 * because this process runs in a container and reaches the engine through a
 * socket.
 */
export const decideFromLocalFacts = (facts: LocalFacts): Decision | undefined => {
  if (facts.hostOverride !== undefined) {
    return {
      mode: "docker_host",
      reason:
        `a host override is set (${facts.hostOverride.origin}), so mapped ports are dialled on ${facts.hostOverride.value}`
    }
  }
  if (facts.engineAddress._tag !== "Socket") {
    return {
      mode: "docker_host",
      reason: `the engine is reached at ${
        formatEngineAddress(facts.engineAddress)
      } (${facts.engineAddressSource}), so mapped ports are dialled on ${facts.engineAddress.host}`
    }
  }
  if (facts.hints.markers.length === 0) {
    return {
      mode: "docker_host",
      reason:
        "this process does not run in a container (no /.dockerenv, /run/.containerenv, container cgroup or container mount), so mapped ports are dialled on localhost"
    }
  }
  return undefined
}

/** The engine's data on this process's container and network. */
export interface EngineFacts {
  readonly ownContainer: OwnContainerLookup
  /** A local address that is the gateway of an engine bridge network, when there is one. */
  readonly sharedGateway: string | undefined
}

/**
 * Decides the mode for a process in a container that reaches the engine
 * through a socket: `bridge_ip` when the engine finds this process's container
 * (Docker-outside-of-Docker), `docker_host` when this process shares the engine
 * host's network, otherwise `gateway_ip` (Docker-in-Docker).
 */
export const decideInContainer = (markers: ReadonlyArray<string>, facts: EngineFacts): Decision => {
  const marker = markers.join(", ")
  if (facts.ownContainer._tag === "Found") {
    const container = facts.ownContainer.container
    return {
      mode: "bridge_ip",
      reason: `this process runs in container ${container.name} (${
        container.id.slice(0, 12)
      }), which the engine found by ${container.foundBy}; containers are dialled at their IP on a network shared with it (Docker-outside-of-Docker)`
    }
  }
  if (facts.sharedGateway !== undefined) {
    return {
      mode: "docker_host",
      reason:
        `this process runs in a container (${marker}) that shares the engine host's network (local address ${facts.sharedGateway} is an engine bridge gateway), so mapped ports are dialled on localhost`
    }
  }
  const tried = facts.ownContainer.tried.length === 0
    ? "no container id was found in the hostname, /proc/self/mountinfo or /proc/self/cgroup"
    : `tried ${facts.ownContainer.tried.join("; ")}`
  return {
    mode: "gateway_ip",
    reason:
      `this process runs in a container (${marker}) that the engine does not list (${tried}), so it is taken to be Docker-in-Docker and mapped ports are dialled on the container network's gateway`
  }
}
