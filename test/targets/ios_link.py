"""Judges zig's link of an arm64 iOS program from its errors (LINK_OUTPUT: what the linker
printed). zig carries libSystem's stubs for macOS and Mac Catalyst only (LIBSYSTEM_TBD), so an
iOS link here cannot succeed: every C library function stays undefined. It is still a check:
zig's linker refuses an object of another platform ("invalid platform"), and every symbol of the
library itself must resolve. So this passes when the only errors are undefined symbols that
libSystem exports (by zig's macOS stubs, the same C library) or that Foundation and the
Objective-C runtime define (what the target's pkg-config file says to link).

usage: ios_link.py LIBSYSTEM_TBD LINK_OUTPUT LIB
"""
import re
import sys

tbd, output, lib = sys.argv[1], sys.argv[2], sys.argv[3]
libsystem = set(re.findall(r"_[A-Za-z0-9_$.]+", open(tbd).read()))
# Foundation (NSLog), Metal (MTLCreateSystemDefaultDevice) and the Objective-C runtime.
frameworks = re.compile(r"^_(NSLog|MTL[A-Za-z]+|objc_[A-Za-z_]+|sel_[A-Za-z]+|OBJC_CLASS_\$_\w+)$")
undefined, system, framework, bad = [], 0, 0, []
for line in open(output):
    line = line.strip()
    if not line.startswith("error:"):
        continue
    m = re.match(r"error: undefined symbol: (\S+)$", line)
    if not m:
        bad.append(line)
        continue
    name = m.group(1)
    if name.startswith(("_" + lib + "_", "_halide_", "__ZN6Halide")):
        bad.append(f"the library's own symbol {name} is undefined")
    elif name in libsystem:
        system += 1
    elif frameworks.match(name):
        framework += 1
    else:
        bad.append(f"{name} is neither libSystem's nor Foundation's, Metal's or libobjc's")
for line in bad:
    print(line)
if bad or system + framework == 0:
    sys.exit(1)
print(f"{system + framework} undefined symbols: {system} of libSystem, {framework} of "
      f"Foundation/Metal/libobjc; no other error")
