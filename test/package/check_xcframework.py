"""Checks an XCFramework as Xcode and SwiftPM read it, without Apple's tools: Info.plist parsed
by plistlib (the format, every library's keys), each slice's files (the archive, the header and
module map under Headers/NAME/), every object's Mach-O platform and minimum OS against the
slice's SupportedPlatform (llvm-objdump, via macho_platforms.py), no directory Info.plist does
not list, and Package.swift beside it declaring it as a binaryTarget.

usage: check_xcframework.py DIR/NAME.xcframework NAME
Prints one line per slice and "ok" (exit 0), or what is wrong (exit 1).
"""
import os
import plistlib
import re
import subprocess
import sys

framework, name = sys.argv[1], sys.argv[2]
errors = []
MINIMUM = {"macos": "11.0", "ios": "17.0"}
with open(os.path.join(framework, "Info.plist"), "rb") as f:
    plist = plistlib.load(f)
if plist.get("CFBundlePackageType") != "XFWK":
    errors.append(f"CFBundlePackageType is {plist.get('CFBundlePackageType')!r}, not 'XFWK'")
if plist.get("XCFrameworkFormatVersion") != "1.0":
    errors.append(f"XCFrameworkFormatVersion is {plist.get('XCFrameworkFormatVersion')!r}")
libraries = plist.get("AvailableLibraries", [])
if not libraries:
    errors.append("no AvailableLibraries")
listed = set()
here = os.path.dirname(os.path.abspath(__file__))
for lib in libraries:
    missing = {"LibraryIdentifier", "LibraryPath", "HeadersPath", "SupportedArchitectures",
               "SupportedPlatform"} - set(lib)
    if missing:
        errors.append(f"a library lacks {sorted(missing)}")
        continue
    ident, platform = lib["LibraryIdentifier"], lib["SupportedPlatform"]
    listed.add(ident)
    archs = lib["SupportedArchitectures"]
    if ident != platform + "-" + "_".join(archs) or archs != ["arm64"]:
        errors.append(f"{ident}: identifier or architectures {archs} do not fit")
    if platform not in MINIMUM or lib.get("SupportedPlatformVariant"):
        errors.append(f"{ident}: platform {platform} {lib.get('SupportedPlatformVariant', '')}")
        continue
    slice_dir = os.path.join(framework, ident)
    archive = os.path.join(slice_dir, lib["LibraryPath"])
    headers = os.path.join(slice_dir, lib["HeadersPath"], name)
    for path in (archive, os.path.join(headers, name + ".h"),
                 os.path.join(headers, "module.modulemap")):
        if not os.path.isfile(path):
            errors.append(f"{ident}: no {os.path.relpath(path, framework)}")
    if errors:
        continue
    modulemap = open(os.path.join(headers, "module.modulemap")).read()
    if not re.search(r"^module %s \{\n  header \"%s\.h\"" % (name, name), modulemap, re.M):
        errors.append(f"{ident}: module.modulemap does not declare module {name} with {name}.h")
    check = subprocess.run([sys.executable, os.path.join(here, "..", "targets", "macho_platforms.py"),
                            platform, MINIMUM[platform], archive], capture_output=True, text=True)
    if check.returncode != 0:
        errors.append(f"{ident}: " + check.stdout.strip().replace("\n", "; "))
    else:
        links = re.findall(r'link framework "(\w+)"', modulemap)
        print(f"{ident}: {check.stdout.strip()}; module {name} links {links or 'nothing'}")
for entry in sorted(os.listdir(framework)):
    if entry != "Info.plist" and entry not in listed:
        errors.append(f"{entry} is not listed in Info.plist")
package = os.path.join(os.path.dirname(os.path.abspath(framework)), "Package.swift")
text = open(package).read() if os.path.isfile(package) else ""
if not re.search(r'\.binaryTarget\(name: "%s", path: "%s\.xcframework"\)' % (name, name), text):
    errors.append("Package.swift does not declare the binaryTarget")
for line in errors:
    print(line)
if errors:
    sys.exit(1)
print("ok")
