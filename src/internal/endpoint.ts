/**
 * Endpoint resolution: which host and port reach a container port under a
 * connection mode, computed from the container's inspect data alone.
 */
import { Result } from "effect"
import * as Net from "node:net"
import type { Endpoint, EndpointOptions, Mode } from "../services/ConnectionMode.ts"
import type { ContainerInspect, EndpointSettings } from "./inspect.ts"
import { type ContainerPort, portKey } from "./port.ts"

/** An IP address with its family. */
export interface HostAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** A network a container was connected to after it started, with its address there. */
export interface Attachment {
  readonly network: string
  readonly networkId: string
  readonly ipAddress: string | undefined
  readonly ipv6Address: string | undefined
}

/** Inputs of endpoint resolution besides the container's inspect data. */
export interface ResolutionContext {
  readonly mode: Mode
  /** The host dialled in `docker_host` mode: a name or an IP address. */
  readonly dockerHost: string
  /**
   * The addresses `dockerHost` resolves to, in the order they are preferred.
   * Empty when the lookup failed.
   */
  readonly dockerHostAddresses: ReadonlyArray<HostAddress>
  /**
   * The engine host's address as seen from this process, used for containers
   * on the host network in `bridge_ip` and `gateway_ip` mode.
   */
  readonly engineHostAddress: string | undefined
  /** Network ids of this process's own container. A network shared with it is preferred. */
  readonly ownNetworkIds: ReadonlySet<string>
  /** The network `prepare` connected this container to, when its inspect data may predate it. */
  readonly attachment: Attachment | undefined
}

/** A published host port, with the family of its host address, or none for an empty address. */
interface PublishedPort {
  readonly hostIp: string
  readonly family: 4 | 6 | undefined
  readonly port: number
}

const wildcardAddresses = new Set(["", "0.0.0.0", "::"])

/** Returns the published host ports of a container port, in the engine's order. */
export const publishedPorts = (inspect: ContainerInspect, port: ContainerPort): ReadonlyArray<PublishedPort> => {
  const bindings = inspect.NetworkSettings.Ports?.[portKey(port)] ?? []
  const published: Array<PublishedPort> = []
  for (const binding of bindings) {
    const hostPort = Number(binding.HostPort ?? "")
    if (!Number.isInteger(hostPort) || hostPort <= 0) {
      continue
    }
    const hostIp = binding.HostIp ?? ""
    const family = hostIp === "" ? undefined : Net.isIPv6(hostIp) ? 6 : 4
    published.push({ hostIp, family, port: hostPort })
  }
  return published
}

/**
 * Returns the host port that accepts connections to an address: a binding to
 * that exact address, or to the wildcard address of its family (`0.0.0.0` for
 * IPv4, `::` for IPv6).
 */
export const portForAddress = (published: ReadonlyArray<PublishedPort>, address: HostAddress): number | undefined => {
  const exact = published.find((binding) => binding.hostIp === address.address)
  if (exact !== undefined) {
    return exact.port
  }
  const wildcard = published.find((binding) =>
    wildcardAddresses.has(binding.hostIp) && (binding.family === undefined || binding.family === address.family)
  )
  return wildcard?.port
}

const describeBindings = (published: ReadonlyArray<PublishedPort>): string =>
  published.map((binding) => `${binding.hostIp === "" ? "*" : binding.hostIp}:${binding.port}`).join(", ")

const notPublished = (port: ContainerPort): string =>
  `port ${portKey(port)} is not published; add it with Container.withExposedPorts`

const addressOf = (address: string): HostAddress | undefined => {
  const family = Net.isIP(address)
  return family === 4 || family === 6 ? { address, family } : undefined
}

/**
 * Picks the host and published port to dial on the engine host. A name stays
 * the host when every address it resolves to has the same port. Otherwise the
 * first address that has a port is returned, so that the client dials the
 * family the port belongs to: with IPv4-only bindings, `localhost` becomes
 * `127.0.0.1`, never `::1`. When the name did not resolve, the IPv4 port is
 * preferred.
 */
export const dialEngineHost = (
  host: string,
  resolved: ReadonlyArray<HostAddress>,
  published: ReadonlyArray<PublishedPort>,
  port: ContainerPort
): Result.Result<Endpoint, string> => {
  if (published.length === 0) {
    return Result.fail(notPublished(port))
  }

  const literal = addressOf(host)
  const addresses = literal === undefined ? resolved : [literal]

  if (addresses.length === 0) {
    // NOTE: the client resolves the name itself, so the family it dials is
    // not known here; IPv4 is the guess.
    const mapped = portForAddress(published, { address: "0.0.0.0", family: 4 }) ??
      portForAddress(published, { address: "::", family: 6 })
    return mapped === undefined
      ? Result.fail(
        `the published ports (${
          describeBindings(published)
        }) are bound to specific addresses and ${host} could not be resolved`
      )
      : Result.succeed({ host, port: mapped })
  }

  const ports = addresses.map((address) => portForAddress(published, address))
  const first = ports[0]
  if (first !== undefined && ports.every((mapped) => mapped === first)) {
    return Result.succeed({ host, port: first })
  }

  for (let index = 0; index < addresses.length; index++) {
    const mapped = ports[index]
    const address = addresses[index]
    if (mapped !== undefined && address !== undefined) {
      return Result.succeed({ host: address.address, port: mapped })
    }
  }

  const families = addresses.map((address) => address.address).join(", ")
  return Result.fail(
    `the engine host ${host} (${families}) has no published port for ${portKey(port)}; published: ${
      describeBindings(published)
    }`
  )
}

/** A network of the container, by name, with its settings. */
interface ContainerNetwork {
  readonly name: string
  readonly settings: EndpointSettings
}

const attachmentSettings = (attachment: Attachment): EndpointSettings => ({
  NetworkID: attachment.networkId,
  ...(attachment.ipAddress === undefined ? {} : { IPAddress: attachment.ipAddress }),
  ...(attachment.ipv6Address === undefined ? {} : { GlobalIPv6Address: attachment.ipv6Address })
})

/** Returns the container's networks, with the attachment added when its inspect data predates it. */
export const containerNetworks = (
  inspect: ContainerInspect,
  attachment: Attachment | undefined
): ReadonlyArray<ContainerNetwork> => {
  const networks = Object.entries(inspect.NetworkSettings.Networks ?? {}).map(([name, settings]) => ({
    name,
    settings
  }))
  if (attachment !== undefined && !networks.some((network) => network.name === attachment.network)) {
    networks.push({ name: attachment.network, settings: attachmentSettings(attachment) })
  }
  return networks
}

const listNetworks = (networks: ReadonlyArray<ContainerNetwork>): string =>
  networks.map((network) => network.name).sort().join(", ")

/**
 * Chooses the network whose address or gateway to use: the one named in the
 * options, else the only network shared with this process's own container,
 * else the container's only network. Fails with the list of networks when the
 * choice is ambiguous.
 */
export const selectNetwork = (
  inspect: ContainerInspect,
  context: ResolutionContext,
  options: EndpointOptions | undefined
): Result.Result<ContainerNetwork, string> => {
  const networks = containerNetworks(inspect, context.attachment)
  const requested = options?.network

  if (requested !== undefined) {
    const named = networks.find((network) =>
      network.name === requested || (network.settings.NetworkID ?? undefined) === requested
    )
    return named === undefined
      ? Result.fail(
        `the container is not on network ${JSON.stringify(requested)}; its networks are: ${
          listNetworks(networks) || "none"
        }`
      )
      : Result.succeed(named)
  }

  if (networks.length === 0) {
    const networkMode = inspect.HostConfig.NetworkMode ?? "default"
    return Result.fail(`the container is on no network (network mode ${networkMode})`)
  }

  const shared = networks.filter((network) => context.ownNetworkIds.has(network.settings.NetworkID ?? ""))
  if (shared.length === 1 && shared[0] !== undefined) {
    return Result.succeed(shared[0])
  }
  if (shared.length > 1) {
    return Result.fail(
      `the container shares several networks with this process's container: ${
        listNetworks(shared)
      }; name one with the network option`
    )
  }

  if (networks.length === 1 && networks[0] !== undefined) {
    return Result.succeed(networks[0])
  }
  return Result.fail(
    `the container is on several networks: ${listNetworks(networks)}; name one with the network option`
  )
}

const resolveOnHostNetwork = (
  context: ResolutionContext,
  port: ContainerPort
): Result.Result<Endpoint, string> => {
  if (context.mode === "docker_host") {
    return Result.succeed({ host: context.dockerHost, port: port.port })
  }
  return context.engineHostAddress === undefined
    ? Result.fail(
      "the container uses the host network, and the engine host's address as seen from this process is unknown; set TESTCONTAINERS_CONNECTION_MODE=docker_host and TESTCONTAINERS_HOST_OVERRIDE to the engine host"
    )
    : Result.succeed({ host: context.engineHostAddress, port: port.port })
}

const resolveBridgeIp = (network: ContainerNetwork, port: ContainerPort): Result.Result<Endpoint, string> => {
  const host = network.settings.IPAddress || network.settings.GlobalIPv6Address
  return host
    ? Result.succeed({ host, port: port.port })
    : Result.fail(`the container has no IP address on network ${network.name}`)
}

const resolveGatewayIp = (
  network: ContainerNetwork,
  published: ReadonlyArray<PublishedPort>,
  port: ContainerPort
): Result.Result<Endpoint, string> => {
  if (published.length === 0) {
    return Result.fail(notPublished(port))
  }
  const gateways = [network.settings.Gateway, network.settings.IPv6Gateway]
    .map((gateway) => (gateway ? addressOf(gateway) : undefined))
    .filter((gateway) => gateway !== undefined)
  if (gateways.length === 0) {
    return Result.fail(`network ${network.name} has no gateway`)
  }
  for (const gateway of gateways) {
    const mapped = portForAddress(published, gateway)
    if (mapped !== undefined) {
      return Result.succeed({ host: gateway.address, port: mapped })
    }
  }
  return Result.fail(
    `no published port of ${portKey(port)} (${describeBindings(published)}) accepts connections on the gateway ${
      gateways.map((gateway) => gateway.address).join(" or ")
    } of network ${network.name}`
  )
}

/**
 * Resolves the endpoint of a container port. In `bridge_ip` mode it is the
 * container's address on the chosen network and the container port, in
 * `gateway_ip` mode the network's gateway and the published port, and in
 * `docker_host` mode the engine host and the published port. A container on
 * the host network is reached at the engine host on the container port. Fails
 * with a sentence that names what is missing.
 */
export const resolveEndpoint = (
  context: ResolutionContext,
  inspect: ContainerInspect,
  port: ContainerPort,
  options?: EndpointOptions
): Result.Result<Endpoint, string> => {
  const networkMode = inspect.HostConfig.NetworkMode ?? ""
  if (networkMode === "host") {
    return resolveOnHostNetwork(context, port)
  }
  if (networkMode.startsWith("container:")) {
    return Result.fail(
      `the container shares the network stack of container ${
        networkMode.slice("container:".length)
      }; resolve the endpoint on that container`
    )
  }

  const published = publishedPorts(inspect, port)
  if (context.mode === "docker_host") {
    return dialEngineHost(context.dockerHost, context.dockerHostAddresses, published, port)
  }

  const network = selectNetwork(inspect, context, options)
  if (Result.isFailure(network)) {
    return Result.fail(network.failure)
  }
  return context.mode === "bridge_ip"
    ? resolveBridgeIp(network.success, port)
    : resolveGatewayIp(network.success, published, port)
}
