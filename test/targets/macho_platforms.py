"""Checks that every object of Mach-O files (archives, objects, executables) is arm64 and carries
one LC_BUILD_VERSION load command of the given platform and minimum OS version, as
`llvm-objdump --macho --private-headers` (LLVM 19) prints them.

usage: macho_platforms.py PLATFORM MINOS FILE...   e.g. macho_platforms.py ios 17.0 libx.a
Prints one line per file, "FILE: N objects, arm64, platform P minos V", or what is wrong (exit 1).
"""
import os
import re
import subprocess
import sys


def objects(path):
    """{member: [(platform, minos)], ...} and {member: cputype} of one file."""
    text = subprocess.run(["llvm-objdump", "--macho", "--private-headers", path],
                          capture_output=True, text=True, check=True).stdout
    versions, cpus, member = {}, {}, None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\S.*?):$", line)
        if m and not line.startswith(("Mach header", "Load command")):
            member = m.group(1)
            versions.setdefault(member, [])
        elif member and "cmd LC_BUILD_VERSION" in line:
            block = "\n".join(lines[i:i + 6])
            platform = re.search(r"platform (\S+)", block).group(1)
            minos = re.search(r"minos (\S+)", block).group(1)
            versions[member].append((platform, minos))
        elif member and re.search(r"cmd LC_VERSION_MIN_", line):
            versions[member].append((line.split()[-1], "?"))
        elif member and re.match(r"^\s*MH_MAGIC", line) and member not in cpus:
            cpus[member] = line.split()[1]  # Mach header: magic cputype ...
    return versions, cpus


def main():
    platform, minos, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    bad = False
    for path in files:
        versions, cpus = objects(path)
        name = os.path.basename(path)
        if not versions:
            print(f"{name}: no Mach-O objects")
            bad = True
        for member, found in sorted(versions.items()):
            if found != [(platform, minos)]:
                print(f"{name}: {os.path.basename(member)}: {found or 'no platform load command'}, "
                      f"not [('{platform}', '{minos}')]")
                bad = True
            if cpus.get(member) != "ARM64":
                print(f"{name}: {os.path.basename(member)}: cputype {cpus.get(member)}, not ARM64")
                bad = True
        if not bad:
            print(f"{name}: {len(versions)} objects, arm64, platform {platform} minos {minos}")
    sys.exit(1 if bad else 0)


main()
