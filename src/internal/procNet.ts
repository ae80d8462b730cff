/**
 * Reading a container's `/proc/net/tcp` from the engine host, without an exec.
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"

/**
 * Reads `/proc/<pid>/net/tcp` and `tcp6` of a container's main process when
 * this process can see it: the engine runs on this host in the same PID
 * namespace, and `/proc/<pid>/cgroup` names the container, so a reused PID
 * is never read. Returns `undefined` otherwise, for example in a container
 * next to the engine or with Docker Desktop, where the caller falls back to
 * an exec.
 */
export const readContainerProcNetTcp = (pid: number, containerId: string): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    if (!Number.isInteger(pid) || pid <= 0) {
      return undefined
    }
    try {
      const cgroup = await Fs.readFile(`/proc/${pid}/cgroup`, "utf8")
      if (!cgroup.includes(containerId)) {
        return undefined
      }
      const ipv4 = await Fs.readFile(`/proc/${pid}/net/tcp`, "utf8")
      const ipv6 = await Fs.readFile(`/proc/${pid}/net/tcp6`, "utf8").catch(() => "")
      return `${ipv4}\n${ipv6}`
    } catch {
      return undefined
    }
  })
