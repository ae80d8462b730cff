/**
 * The parts of the engine's inspect data this library relies on, decoded with
 * `effect/Schema`. Unknown fields are ignored, so newer engines decode too.
 */
import { Schema } from "effect"

const OptionalString = Schema.optionalKey(Schema.NullOr(Schema.String))

/** One host binding of a published port, as in `NetworkSettings.Ports`. */
export const PortBinding = Schema.Struct({
  HostIp: OptionalString,
  HostPort: OptionalString
})
export type PortBinding = typeof PortBinding.Type

/** A container's settings on one network. */
export const EndpointSettings = Schema.Struct({
  NetworkID: OptionalString,
  IPAddress: OptionalString,
  Gateway: OptionalString,
  GlobalIPv6Address: OptionalString,
  IPv6Gateway: OptionalString,
  Aliases: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String)))
})
export type EndpointSettings = typeof EndpointSettings.Type

/** The decoded subset of `GET /containers/{id}/json`. */
export const ContainerInspect = Schema.Struct({
  Id: Schema.String,
  Name: Schema.String,
  Created: Schema.optionalKey(Schema.String),
  State: Schema.Struct({
    Status: Schema.String,
    Running: Schema.Boolean,
    Pid: Schema.optionalKey(Schema.Number),
    ExitCode: Schema.Number,
    Health: Schema.optionalKey(Schema.NullOr(Schema.Struct({ Status: Schema.String })))
  }),
  Config: Schema.Struct({
    Image: Schema.String,
    Hostname: OptionalString,
    Labels: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.String)))
  }),
  HostConfig: Schema.Struct({
    NetworkMode: OptionalString
  }),
  NetworkSettings: Schema.Struct({
    Ports: Schema.optionalKey(
      Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.Array(PortBinding))))
    ),
    Networks: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, EndpointSettings)))
  })
})
export type ContainerInspect = typeof ContainerInspect.Type

/** The decoded subset of `GET /networks/{id}`. */
export const NetworkInspect = Schema.Struct({
  Id: Schema.String,
  Name: Schema.String,
  Driver: Schema.String,
  Internal: Schema.optionalKey(Schema.Boolean),
  IPAM: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    Config: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.Struct({
      Subnet: OptionalString,
      Gateway: OptionalString
    }))))
  }))),
  Labels: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.String)))
})
export type NetworkInspect = typeof NetworkInspect.Type

/** Decodes container inspect data; fails with a `SchemaError`. */
export const decodeContainerInspect = Schema.decodeUnknownEffect(ContainerInspect)

/** Decodes network inspect data; fails with a `SchemaError`. */
export const decodeNetworkInspect = Schema.decodeUnknownEffect(NetworkInspect)
