"""The Metal source that ran is the Metal source shipped: every library the test Metal device
compiled (GRU_METAL_SHIM_DUMP, as newLibraryWithSource received it) equals one of the `metal`
target's .metal files byte for byte, but for the last byte: the NUL that ends the string embedded
in the library is the newline that ends the file Halide writes. Every shipped .metal file ran. Usage: same_source.py SHIPPED_DIR DUMP_DIR"""
import pathlib
import sys

shipped = {p.name: p.read_bytes() for p in sorted(pathlib.Path(sys.argv[1]).glob("*.metal"))}
ran = [p.read_bytes() for p in sorted(pathlib.Path(sys.argv[2]).glob("library*.metal"))]
if not shipped or not ran:
    sys.exit(f"same_source.py: nothing to compare ({len(shipped)} shipped, {len(ran)} ran)")


def same(r, s):
    return r[-1:] == b"\0" and s[-1:] == b"\n" and r[:-1] == s[:-1]


unmatched = [i for i, r in enumerate(ran) if not any(same(r, s) for s in shipped.values())]
never_ran = [n for n, s in shipped.items() if not any(same(r, s) for r in ran)]
if unmatched or never_ran:
    sys.exit(f"same_source.py: {len(unmatched)} of {len(ran)} sources that ran were not shipped; "
             f"shipped but never ran: {', '.join(never_ran) or 'none'}")
print(f"{len(ran)} Metal sources ran, each byte for byte a shipped one: {', '.join(shipped)}")
