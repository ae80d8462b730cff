#!/usr/bin/env python3
"""Add dprint's platform packages that npm left out of package-lock.json.

The npm registry these machines reach serves only the linux-x64 builds of
dprint, so `npm install` writes a lock file without the other platforms'
optional packages, and `npm ci` (npm 11) then rejects the lock file as out of
sync. This script adds each missing platform package as an optional entry
with its os, cpu and libc, which `npm ci` skips on every other platform.
Run it after any `npm install` that rewrites package-lock.json.
"""
import json
import pathlib
import sys

PLATFORMS = {
    "win32-x64": ("win32", "x64", None),
    "win32-arm64": ("win32", "arm64", None),
    "darwin-x64": ("darwin", "x64", None),
    "darwin-arm64": ("darwin", "arm64", None),
    "linux-x64-glibc": ("linux", "x64", "glibc"),
    "linux-x64-musl": ("linux", "x64", "musl"),
    "linux-arm64-glibc": ("linux", "arm64", "glibc"),
    "linux-arm64-musl": ("linux", "arm64", "musl"),
    "linux-riscv64-glibc": ("linux", "riscv64", "glibc"),
    "linux-loong64-glibc": ("linux", "loong64", "glibc"),
    "linux-loong64-musl": ("linux", "loong64", "musl"),
    "linux-ppc64-glibc": ("linux", "ppc64", "glibc"),
    "linux-ppc64-musl": ("linux", "ppc64", "musl"),
    "android-arm64": ("android", "arm64", None),
    "android-x64": ("android", "x64", None),
}


def main() -> int:
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "package-lock.json")
    lock = json.loads(path.read_text())
    packages = lock["packages"]
    dprint = packages.get("node_modules/dprint")
    if dprint is None:
        print(f"[lockfile] {path} has no dprint entry; nothing to do")
        return 0

    added = []
    for name, (os_name, cpu, libc) in PLATFORMS.items():
        key = f"node_modules/@dprint/{name}"
        if key in packages:
            continue
        entry = {"version": dprint["version"], "cpu": [cpu], "dev": True}
        if libc is not None:
            entry["libc"] = [libc]
        entry.update({"license": "MIT", "optional": True, "os": [os_name]})
        packages[key] = entry
        added.append(name)

    lock["packages"] = dict(sorted(packages.items(), key=lambda item: (item[0] != "", item[0])))
    path.write_text(json.dumps(lock, indent=2) + "\n")
    print(f"[lockfile] added {len(added)} dprint platform entries: {', '.join(added) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
