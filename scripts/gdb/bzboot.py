# bzboot.py - gdb commands for debugging bzboot (and a kernel's real-mode setup) in
# QEMU through its gdbstub. scripts/gdb-session sources this file; docs/debugging.md
# shows each command in a session.
#
#   bz-where             CS:IP, its linear address, the symbol and source line there
#   bz-x16 [N] [ADDR]    N (8) real-mode instructions at CS:IP or at linear ADDR,
#                        disassembled as 16-bit code by objdump -m i8086
#   bz-step [N]          one source line of the MBR or stage 2 (N times), into calls
#   bz-next [N]          the same, over calls
#   bz-header [ADDR]     the setup header at X (SETUP_BASE) or at linear ADDR
#   bz-bootparams [ADDR] boot_params at RSI (or ADDR): fields, E820 table, command line
#   bz-constants DIR, bz-symbols FILE: what gdb-session loads (constants, protocol names)
#
# Why these exist: gdb 13 against qemu-system-x86_64 runs as i386:x86-64, which
# cannot decode 16-bit code (it shows real-mode bytes as 64-bit instructions), and
# `set architecture i8086` is refused; and gdb's $pc is IP, while QEMU compares
# breakpoints with linear addresses (CS base + IP). Where CS is 0 (the MBR, stage 2)
# the two agree; in the kernel's setup (CS = X/16 + 0x20) they do not.
#
# Names, offsets and widths come from the build's gen/constants.json (NASM's values
# of include/*.inc and stage2/layout.inc): $BZBOOT_GEN, or `bz-constants DIR`.

import json
import os
import struct
import subprocess
import tempfile

import gdb

_constants = {}
_extra_symbols = []  # (address, name) of scripts/protocol-symbols: places with no ELF symbol
_REGIONS = {"X", "X.setup_entry", "X.header_end", "cmdline", "zero_page", "kernel", "kernel.entry64"}


def _load(gen_dir):
    with open(os.path.join(gen_dir, "constants.json")) as f:
        data = json.load(f)
    _constants.clear()
    for names in data.values():
        _constants.update(names)


def _ensure():
    if not _constants:
        gen = os.environ.get("BZBOOT_GEN")
        if not gen:
            raise gdb.GdbError("bzboot: no constants: set BZBOOT_GEN=<build>/gen or run bz-constants <build>/gen")
        _load(gen)


def const(name):
    _ensure()
    if name not in _constants:
        raise gdb.GdbError(f"bzboot: no constant {name} in constants.json")
    return _constants[name]["value"]


def fields(prefix):
    """(NAME, offset, width) of every field NAME = prefix..., by offset."""
    _ensure()
    out = [(n, e["value"], e["width"]) for n, e in _constants.items()
           if n.startswith(prefix) and e.get("kind") == "field"]
    return sorted(out, key=lambda f: f[1])


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & 0xFFFFFFFFFFFFFFFF


def real_mode():
    try:
        return reg("cr0") & 1 == 0
    except gdb.error:  # a target without cr0: guess from the code segment
        return reg("cs") not in (0x08, 0x10)


def linear_pc():
    """(cs, ip, linear) of the current instruction."""
    cs, ip = reg("cs"), reg("pc")
    if real_mode():
        ip &= 0xFFFF
        return cs, ip, ((cs << 4) + ip) & 0xFFFFF
    return cs, ip, ip  # protected and long mode: bzboot's segments are flat


def read(addr, size):
    return bytes(gdb.selected_inferior().read_memory(addr, size))


def uint(addr, width):
    return int.from_bytes(read(addr, width), "little")


def cstring(addr, limit=4096):
    data = read(addr, limit)
    return data.split(b"\0", 1)[0].decode("latin-1")


def where(addr):
    """'symbol+off at file:line' for a linear address, as far as known."""
    text = ""
    sym = gdb.execute(f"info symbol {addr:#x}", to_string=True).strip()
    if not sym.startswith("No symbol"):
        text = "<" + sym.split(" in section")[0].replace(" + ", "+") + ">"
    else:
        # A header field names its own address only; a region (X, X.setup_entry,
        # kernel, kernel.entry64, ...) also the places inside it.
        below = [(a, n) for a, n in _extra_symbols
                 if a == addr or (n in _REGIONS and a <= addr < a + 0x10000)]
        if below:
            a, n = max(below)
            text = f"<{n}+{addr - a}>" if addr != a else f"<{n}>"
    sal = gdb.find_pc_line(addr)
    if sal.symtab is not None:
        text += f" at {sal.symtab.filename}:{sal.line}"
    return text or "(no symbol)"


def disassemble16(addr, count):
    """[(address, length, text)] of count 16-bit instructions at linear addr."""
    data = read(addr, count * 8 + 8)
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i8086", "-M", "intel",
                              f"--adjust-vma={addr:#x}", f.name],
                             capture_output=True, text=True, check=True).stdout
    insns = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().endswith(":"):
            continue
        at = int(parts[0].strip()[:-1], 16)
        length = len(parts[1].split())
        insns.append((at, length, " ".join(parts[2].split())))
        if len(insns) == count:
            break
    return insns


class Where(gdb.Command):
    """bz-where: CS:IP, the linear address, the symbol and the source line there."""

    def __init__(self):
        super().__init__("bz-where", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        cs, ip, lin = linear_pc()
        if real_mode():
            print(f"CS:IP = {cs:04x}:{ip:04x}  linear {lin:#x}  {where(lin)}  (real mode)")
        else:
            print(f"CS:RIP = {cs:04x}:{ip:#x}  linear {lin:#x}  {where(lin)}  (protected/long mode)")


class X16(gdb.Command):
    """bz-x16 [COUNT] [ADDR]: COUNT (8) instructions of 16-bit code at CS:IP or at linear ADDR."""

    def __init__(self):
        super().__init__("bz-x16", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        count = int(args[0], 0) if args else 8
        addr = int(gdb.parse_and_eval(args[1])) if len(args) > 1 else linear_pc()[2]
        for at, _, text in disassemble16(addr, count):
            label = ""
            sym = gdb.execute(f"info symbol {at:#x}", to_string=True)
            if " + " not in sym and not sym.startswith("No symbol"):
                label = sym.split(" in section")[0] + ":"
            if label:
                print(label)
            sal = gdb.find_pc_line(at)
            src = f"  ; {os.path.basename(sal.symtab.filename)}:{sal.line}" if sal.symtab and sal.pc == at else ""
            print(f"  {at:#07x}:  {text}{src}")


def line_at(addr):
    sal = gdb.find_pc_line(addr)
    return (sal.symtab.filename, sal.line) if sal.symtab is not None else None


def step_line(over_calls):
    """One source line: stepi until another line starts. INT (the BIOS) and, with
    over_calls, CALL and REP string instructions run to the next instruction."""
    start = line_at(linear_pc()[2])
    for _ in range(100000):
        cs, ip, lin = linear_pc()
        at, length, text = disassemble16(lin, 1)[0] if real_mode() else (lin, 0, "")
        mnemonic = text.split()[0] if text else ""
        skip = mnemonic == "int" or (over_calls and (mnemonic.startswith("call") or mnemonic.startswith("rep")))
        if skip and length:
            gdb.execute(f"tbreak *{lin + length:#x}", to_string=True)
            gdb.execute("continue", to_string=True)
        else:
            gdb.execute("stepi", to_string=True)
        lin = linear_pc()[2]
        now = line_at(lin)
        sal = gdb.find_pc_line(lin)
        if now is not None and now != start and sal.pc == lin:
            return
    raise gdb.GdbError("bz-step: no new source line after 100000 instructions")


class Step(gdb.Command):
    """bz-step [N]: step N (1) source lines of the MBR or stage 2, into calls (over INT)."""

    def __init__(self, name="bz-step", over=False):
        super().__init__(name, gdb.COMMAND_RUNNING)
        self.over = over

    def invoke(self, arg, from_tty):
        for _ in range(int(arg, 0) if arg.strip() else 1):
            step_line(self.over)
        gdb.execute("bz-where")


def print_fields(base, prefix, skip=()):
    for name, off, width in fields(prefix):
        if name in skip:
            continue
        value = uint(base + off, width)
        print(f"  {name:<24} {base + off:#010x} ({width})  {value:#0{2 + 2 * width}x}")


def header_at(arg, default):
    """The linear address ARG (or `default`) and its setup header's "HdrS" field."""
    base = int(gdb.parse_and_eval(arg)) if arg.strip() else default
    return base, uint(base + const("HDR_HEADER"), 4)


class Header(gdb.Command):
    """bz-header [ADDR]: the setup header at X (SETUP_BASE) or at linear ADDR."""

    def __init__(self):
        super().__init__("bz-header", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        base, magic = header_at(arg, const("SETUP_BASE"))
        state = "HdrS" if magic == const("HDRS_MAGIC") else f"no HdrS ({magic:#x}): not loaded yet?"
        print(f"setup header at X = {base:#x}: {state}")
        print_fields(base, "HDR_")
        ptr = uint(base + const("HDR_CMD_LINE_PTR"), 4)
        if ptr:
            print(f"  command line at {ptr:#x}: \"{cstring(ptr)}\"")


class BootParams(gdb.Command):
    """bz-bootparams [ADDR]: boot_params (the zero page) at RSI or at linear ADDR."""

    def __init__(self):
        super().__init__("bz-bootparams", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        base, magic = header_at(arg, reg("rsi"))
        if magic != const("HDRS_MAGIC"):
            raise gdb.GdbError(
                f"bz-bootparams: no boot_params at {base:#x} (no HdrS): not built yet? At handoff64's "
                "first instruction RSI is not set; break at long_mode_entry.jump or at the kernel's "
                f"64-bit entry ({const('BZIMAGE_LOAD_ADDR') + const('ENTRY_64_OFFSET'):#x})")
        print(f"boot_params at {base:#x}:")
        print_fields(base, "BP_")
        print("  setup header (boot_params.hdr):")
        print_fields(base, "HDR_")
        count = uint(base + const("BP_E820_ENTRIES"), 1)
        size = const("E820_ENTRY_SIZE")
        print(f"  e820_table: {count} entries")
        for i in range(count):
            addr, length, kind = struct.unpack("<QQI", read(base + const("BP_E820_TABLE") + i * size, size))
            print(f"    [{addr:#018x}, {addr + length:#018x}) type {kind}")
        ptr = uint(base + const("HDR_CMD_LINE_PTR"), 4) | uint(base + const("BP_EXT_CMD_LINE_PTR"), 4) << 32
        print(f"  command line at {ptr:#x}: \"{cstring(ptr) if ptr else ''}\"")


class Constants(gdb.Command):
    """bz-constants DIR: read the constants from DIR/constants.json (<build>/gen)."""

    def __init__(self):
        super().__init__("bz-constants", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        _load(arg.strip())


class Symbols(gdb.Command):
    """bz-symbols FILE: names (`ADDR NAME` lines) for places without an ELF symbol."""

    def __init__(self):
        super().__init__("bz-symbols", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        with open(arg.strip()) as f:
            for line in f:
                addr, name = line.split()
                _extra_symbols.append((int(addr, 16), name))


Where()
Symbols()
X16()
Step()
Step("bz-next", over=True)
Header()
BootParams()
Constants()
