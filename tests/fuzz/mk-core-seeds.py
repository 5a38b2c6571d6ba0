#!/usr/bin/env python3
# mk-core-seeds.py DIR: the seeds of the core fuzzer (server/fuzz_core.c) in
# tests/fuzz/server-core: small hand-made ELF cores of x86_64, aarch64 and
# 32-bit ARM, each with NT_PRSTATUS (the stack pointer in its stack segment),
# NT_FILE naming a module whose first page holds an ELF header with a
# build-id note, a writable data segment and a stack segment. Run once; the
# files are kept in the tree.
import struct, sys
def note(name, typ, desc):
    n = name + b'\0'
    pad = lambda b: b + b'\0' * ((4 - len(b) % 4) % 4)
    return struct.pack('<III', len(n), len(desc), typ) + pad(n) + pad(desc)
def core(is64, machine, nregs, spidx, path):
    W = 'Q' if is64 else 'I'; ws = 8 if is64 else 4
    ehsz, phsz = (64, 56) if is64 else (52, 32)
    # module page: an ELF header of the same class with PT_LOAD and PT_NOTE (build-id)
    bid = note(b'GNU', 3, bytes(range(20)))
    mod = bytearray(0x1000)
    mod[0:4] = b'\x7fELF'; mod[4] = 2 if is64 else 1; mod[5] = 1; mod[6] = 1
    if is64:
        struct.pack_into('<HHIQQQIHHHHHH', mod, 16, 3, machine, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
        struct.pack_into('<IIQQQQQQ', mod, 64, 1, 5, 0, 0, 0, 0x1000, 0x1000, 0x1000)
        struct.pack_into('<IIQQQQQQ', mod, 120, 4, 4, 0x200, 0x200, 0x200, len(bid), len(bid), 4)
    else:
        struct.pack_into('<HHIIIIIHHHHHH', mod, 16, 3, machine, 1, 0, 52, 0, 0, 52, 32, 2, 40, 0, 0)
        struct.pack_into('<IIIIIIII', mod, 52, 1, 0, 0, 0, 0x1000, 0x1000, 5, 0x1000)
        struct.pack_into('<IIIIIIII', mod, 84, 4, 0x200, 0x200, 0x200, len(bid), len(bid), 4, 4)
    mod[0x200:0x200 + len(bid)] = bid
    base, data, stack = 0x400000, 0x601000, 0x7ff000
    regoff = 112 if is64 else 72
    pr = bytearray(regoff + nregs * ws + ws)
    struct.pack_into('<I', pr, 32 if is64 else 24, 42)
    struct.pack_into('<' + W, pr, regoff + spidx * ws, stack + 0x800)
    nf = struct.pack('<' + W * 5, 1, 4096, base, base + 0x1000, 0) + path + b'\0'
    notes = note(b'CORE', 1, bytes(pr)) + note(b'CORE', 0x46494c45, nf)
    segs = [(base, bytes(mod), 5), (data, bytes(0x1000), 6), (stack, bytes(0x1000), 6)]
    nph = 1 + len(segs)
    off = ehsz + nph * phsz
    out = bytearray()
    hdr = bytearray(ehsz)
    hdr[0:4] = b'\x7fELF'; hdr[4] = 2 if is64 else 1; hdr[5] = 1; hdr[6] = 1
    if is64:
        struct.pack_into('<HHIQQQIHHHHHH', hdr, 16, 4, machine, 1, 0, ehsz, 0, 0, ehsz, phsz, nph, 0, 0, 0)
    else:
        struct.pack_into('<HHIIIIIHHHHHH', hdr, 16, 4, machine, 1, 0, ehsz, 0, 0, ehsz, phsz, nph, 0, 0, 0)
    phs = bytearray()
    noff = off
    def ph(t, o, v, fs, ms, fl):
        if is64: return struct.pack('<IIQQQQQQ', t, fl, o, v, 0, fs, ms, 4096)
        return struct.pack('<IIIIIIII', t, o, v, 0, fs, ms, fl, 4096)
    phs += ph(4, noff, 0, len(notes), 0, 0)
    o = noff + len(notes)
    body = bytearray(notes)
    for v, c, fl in segs:
        phs += ph(1, o, v, len(c), len(c), fl)
        body += c; o += len(c)
    return bytes(hdr + phs + body)
open(sys.argv[1] + '/x86_64.core', 'wb').write(core(True, 62, 27, 19, b'/usr/bin/prog'))
open(sys.argv[1] + '/aarch64.core', 'wb').write(core(True, 183, 34, 31, b'/usr/bin/prog'))
open(sys.argv[1] + '/arm.core', 'wb').write(core(False, 40, 18, 13, b'/usr/bin/prog'))
