"""qemustops - boot a guest in QEMU (TCG) and stop it, through QEMU's gdbstub, at
the MBR's first instruction and at the kernel hand-off; then wait for the test
initramfs's /init line. The shared part of scripts/bench (wall time by phase) and
scripts/icount (guest instructions by phase).

A boot with stops runs QEMU with `-S -gdb tcp:...` and speaks the gdb remote
protocol itself: hardware breakpoints (`Z1`, which QEMU compares with linear
addresses, also in real mode), `c`, `s`, `D`, and `qRcmd` for the HMP commands
`info registers`, `xp` and whatever a caller needs (`info replay`, `log`).
Breakpoints sit at 0x7C00 and at every hand-off candidate of the kernel; a stop is
the hand-off when it passes the test `bzcheck capture` applies
(harness/capture.cpp, classify_stop):
  16-bit: real mode at linear X+0x200 with "HdrS" at X+0x202;
  32-bit: protected mode, ESI at a boot_params with "HdrS", and EIP at that
          boot_params' code32_start or at the kernel file's own first 64 bytes of
          protected-mode code (GRUB `linux` first runs its relocator at 0x100000,
          SYSLINUX its own code there: those stops are skipped);
  64-bit: long mode at a load address + 0x200, RSI at a boot_params with "HdrS".
Only the first stop at 0x7C00 is the MBR (SYSLINUX's MBR loads a VBR there too).
At the hand-off every breakpoint goes and the client detaches: the kernel runs as
it would without a debugger.

The guest is stopped from each stop reply until the next resume (and from the
connection until the first resume); Boot.stopped_s sums that, and each phase's
seconds have the stopped time before it taken out. What remains of the stops'
cost (QEMU's own stop and restart) is what scripts/bench measures against boots
without stops: the same QEMU command line without -S/-gdb.

Every QEMU runs under timeout(1), in its own process group.
"""

import os
import re
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import List, Optional

QEMU = "qemu-system-x86_64"
LOOPBACK = "127.0.0.1"
MBR_ADDRESS = 0x7C00
INIT_LINE_PREFIX = "bzboot: userspace reached; cmdline="
FAIL_TEXTS = ["Kernel panic"]
DEFAULT_MEMORY = "512M"
CONNECT_RETRY_S = 0.002
SERIAL_POLL_S = 0.005
KILL_GRACE_S = 5

# boot.rst's setup header: offsets in the bzImage file and in boot_params alike.
HDR_SETUP_SECTS = 0x1F1
HDR_HEADER = 0x202
HDR_VERSION = 0x206
HDR_CODE32_START = 0x214
HDR_PREF_ADDRESS = 0x258
HDRS_MAGIC = 0x53726448          # "HdrS"
PROTOCOL_2_10 = 0x20A
SETUP_ENTRY_OFFSET = 0x200       # X + 0x200: the 16-bit entry
ENTRY_64_OFFSET = 0x200          # load address + 0x200: the 64-bit entry
SETUP_SECTS_DEFAULT = 4
SECTOR = 512
SETUP_SECTS_MAX = 64
USUAL_SETUP_BASES = [0x10000, 0x90000]
BZIMAGE_LOAD_ADDR = 0x100000
COMMON_PREF_ADDRESS = 0x1000000
ENTRY32_CODE_BYTES = 64
CR0_PE = 1 << 0
EFER_LMA = 1 << 10


class BootError(Exception):
    """A boot that did not get where it should; the message says how far it got."""


# --- where a hand-off can be, and whether a stop is one --------------------------

@dataclass
class Candidates:
    entries16: List[int]
    entries32: List[int]
    entries64: List[int]
    entry32_code: bytes    # the kernel file's first protected-mode bytes

    def all(self):
        return sorted(set(self.entries16 + self.entries32 + self.entries64))


def handoff_candidates(kernel_path):
    """Where bzcheck capture breaks for this bzImage (capture.cpp's handoff_candidates)."""
    with open(kernel_path, "rb") as f:
        data = f.read((SETUP_SECTS_MAX + 1) * SECTOR + ENTRY32_CODE_BYTES)
    u32 = lambda at: struct.unpack_from("<I", data, at)[0]
    if len(data) < HDR_PREF_ADDRESS + 8 or u32(HDR_HEADER) != HDRS_MAGIC:
        raise BootError(f"{kernel_path} is not a bzImage (no HdrS header)")
    c = Candidates([base + SETUP_ENTRY_OFFSET for base in USUAL_SETUP_BASES],
                   [BZIMAGE_LOAD_ADDR, COMMON_PREF_ADDRESS],
                   [BZIMAGE_LOAD_ADDR + ENTRY_64_OFFSET, COMMON_PREF_ADDRESS + ENTRY_64_OFFSET], b"")
    addresses = [u32(HDR_CODE32_START)]
    if struct.unpack_from("<H", data, HDR_VERSION)[0] >= PROTOCOL_2_10:
        addresses.append(struct.unpack_from("<Q", data, HDR_PREF_ADDRESS)[0])
    for address in addresses:
        if address not in c.entries32:
            c.entries32.append(address)
        if address + ENTRY_64_OFFSET not in c.entries64:
            c.entries64.append(address + ENTRY_64_OFFSET)
    code = ((data[HDR_SETUP_SECTS] or SETUP_SECTS_DEFAULT) + 1) * SECTOR
    c.entry32_code = data[code:code + ENTRY32_CODE_BYTES]
    return c


def linear_pc(regs):
    if regs["cr0"] & CR0_PE:
        return (regs["cs_base"] + regs["rip"]) & (0xFFFFFFFFFFFFFFFF if regs["efer"] & EFER_LMA else 0xFFFFFFFF)
    return regs["cs_base"] + (regs["rip"] & 0xFFFF)


def classify(regs, candidates, read_u32):
    """'16-bit', '32-bit', '64-bit' or None (no hand-off), as capture.cpp's classify_stop."""
    hdrs_at = lambda address: read_u32(address) == HDRS_MAGIC
    linear = linear_pc(regs)
    if not regs["cr0"] & CR0_PE:
        if linear in candidates.entries16 and hdrs_at(linear - SETUP_ENTRY_OFFSET + HDR_HEADER):
            return "16-bit"
        return None
    if not regs["efer"] & EFER_LMA:
        boot_params = regs["rsi"] & 0xFFFFFFFF
        if linear not in candidates.entries32 or not hdrs_at(boot_params + HDR_HEADER):
            return None
        if read_u32(boot_params + HDR_CODE32_START) == linear:
            return "32-bit"
        code = candidates.entry32_code
        if code and all(read_u32(linear + at) == struct.unpack_from("<I", code, at)[0]
                        for at in range(0, len(code) - 3, 4)):
            return "32-bit"
        return None
    if linear in candidates.entries64 and hdrs_at(regs["rsi"] + HDR_HEADER):
        return "64-bit"
    return None


def parse_info_registers(text):
    """From HMP `info registers` (any CPU mode): rip, rsi, rsp, cr0, efer and the CS/SS bases."""
    values = {name: int(value, 16) for name, value in re.findall(r"\b([A-Z][A-Z0-9]*) *=([0-9a-f]+)", text)}
    base = lambda seg: re.search(rf"^{seg} *=[0-9a-f]+ ([0-9a-f]+)", text, re.M)
    pick = lambda wide, narrow: values.get(wide, values.get(narrow))
    regs = {"rip": pick("RIP", "EIP"), "rsi": pick("RSI", "ESI"), "rsp": pick("RSP", "ESP"),
            "cr0": values.get("CR0"), "efer": values.get("EFER")}
    for seg in ("CS", "SS"):
        match = base(seg)
        regs[seg.lower() + "_base"] = int(match.group(1), 16) if match else None
    missing = [name for name, value in regs.items() if value is None]
    if missing:
        raise BootError(f"QEMU's info registers lacks {', '.join(missing)}")
    return regs


# --- the gdb remote protocol ---------------------------------------------------------

class GdbRemote:
    """A gdb remote protocol client for QEMU's gdbstub (acknowledgements off when it agrees)."""

    def __init__(self, port, deadline, process):
        self.deadline = deadline
        while True:
            try:
                self.sock = socket.create_connection((LOOPBACK, port), timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise BootError(f"QEMU ended (exit code {process.returncode}) before its gdbstub listened")
                if time.monotonic() > deadline:
                    raise BootError("timed out connecting to QEMU's gdbstub")
                time.sleep(CONNECT_RETRY_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.acks = True
        if self.request("QStartNoAckMode") == "OK":
            self.acks = False

    def close(self):
        self.sock.close()

    def send(self, payload):
        data = payload.encode()
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))

    def receive(self):
        while True:
            start = self.buffer.find(b"$")
            end = self.buffer.find(b"#", start) if start >= 0 else -1
            if end >= 0 and len(self.buffer) >= end + 3:
                payload = self.buffer[start + 1:end].decode(errors="replace")
                self.buffer = self.buffer[end + 3:]
                if self.acks:
                    self.sock.sendall(b"+")
                return payload
            self.sock.settimeout(max(0.05, self.deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise BootError("timed out waiting for QEMU's gdbstub") from None
            if not chunk:
                raise BootError("QEMU closed its gdbstub connection (the guest ended?)")
            self.buffer += chunk

    def request(self, payload):
        self.send(payload)
        return self.receive()

    def monitor(self, command):
        """Runs an HMP command (qRcmd) and returns its output."""
        self.send("qRcmd," + command.encode().hex())
        output = ""
        while True:
            reply = self.receive()
            if reply.startswith("O") and reply != "OK":
                output += bytes.fromhex(reply[1:]).decode(errors="replace")
            elif reply == "OK":
                return output
            else:
                raise BootError(f"QEMU monitor '{command}': {reply}")

    def read_phys(self, address, width):
        """The little-endian word of width 2 or 4 bytes at a physical address, or None."""
        unit, digits = {2: ("h", 4), 4: ("w", 8)}[width]
        match = re.search(rf": 0x([0-9a-f]{{{digits}}})", self.monitor(f"xp /1{unit}x {address:#x}"))
        return int(match.group(1), 16) if match else None

    def read_phys_u32(self, address):
        return self.read_phys(address, 4)


# --- QEMU ----------------------------------------------------------------------------

@dataclass
class Guest:
    """What to boot: a disk image, or a kernel through QEMU's own -kernel loader."""
    machine: str
    disk: Optional[str] = None
    kernel: Optional[str] = None
    initrd: Optional[str] = None
    append: Optional[str] = None
    memory: str = DEFAULT_MEMORY
    extra: List[str] = field(default_factory=list)   # more QEMU arguments (-icount ...)

    def qemu_args(self, serial_log):
        # As scripts/qemu-boot starts QEMU, so that the figures compare.
        args = ["-accel", "tcg", "-machine", self.machine, "-m", self.memory, "-display", "none",
                "-monitor", "none", "-nic", "none", "-no-reboot", "-serial", f"file:{serial_log}"]
        if self.disk:
            args += ["-drive", f"file={self.disk.replace(',', ',,')},format=raw,id=disk0"]
        else:
            args += ["-kernel", self.kernel]
            if self.initrd:
                args += ["-initrd", self.initrd]
            if self.append is not None:
                args += ["-append", self.append]
        return args + self.extra


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Qemu:
    """One QEMU under timeout(1), in its own process group; a context manager that stops it."""

    def __init__(self, guest, work_dir, timeout_s, gdb_port=None):
        self.serial_log = os.path.join(work_dir, "serial.log")
        open(self.serial_log, "wb").close()
        self.output = os.path.join(work_dir, "qemu.out")
        args = guest.qemu_args(self.serial_log)
        if gdb_port is not None:
            args += ["-S", "-gdb", f"tcp:{LOOPBACK}:{gdb_port}"]
        self.command = ["timeout", "--kill-after=5", str(int(timeout_s) + 1), QEMU, *args]
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def said(self):
        with open(self.output, errors="replace") as f:
            return f.read().strip()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SerialWatcher:
    """Looks in the growing serial log for the /init line (with cmdline's words in it) or a failure."""

    def __init__(self, path, cmdline):
        self.file = open(path, "rb")
        self.cmdline = cmdline
        self.text = ""
        self.partial = ""

    def close(self):
        self.file.close()

    def poll(self):
        """'found', 'failed' or None."""
        new = self.file.read().decode(errors="replace")
        if not new:
            return None
        self.text += new
        if any(text in self.text for text in FAIL_TEXTS):
            return "failed"
        lines = (self.partial + new).split("\n")
        self.partial = lines.pop()
        for line in lines:
            line = line.rstrip("\r")
            if line.startswith(INIT_LINE_PREFIX):
                # GRUB puts BOOT_IMAGE= first, SYSLINUX initrd= last: the user's words must be there.
                return "found" if self.cmdline in line[len(INIT_LINE_PREFIX):] else "failed"
        return None

    def tail(self, lines=15):
        return "\n".join(self.text.replace("\r", "").splitlines()[-lines:])


# --- one boot --------------------------------------------------------------------------

@dataclass
class Stop:
    """The MBR stop or the hand-off stop."""
    what: str           # "mbr", or the hand-off kind: "16-bit", "32-bit", "64-bit"
    address: int        # linear
    seconds: float      # since QEMU's start, wall clock minus the time stopped before it
    info: dict = field(default_factory=dict)   # what on_stop returned


@dataclass
class Boot:
    mbr: Optional[Stop]            # None without stops, or with QEMU's -kernel (no MBR)
    handoff: Optional[Stop]        # None without stops
    init_seconds: Optional[float]  # QEMU's start to the /init line, minus stopped_s (None: not waited for)
    stopped_s: float = 0.0         # all the time the guest spent stopped
    stop_count: int = 0            # breakpoint stops, skipped ones included
    skipped: List[int] = field(default_factory=list)  # stops at a candidate that were no hand-off


class Session:
    """The stops of one boot: breakpoints by linear address, resumed over the one under the CPU."""

    def __init__(self, gdb):
        self.gdb = gdb
        self.breakpoints = set()

    def add(self, address):
        if address not in self.breakpoints:
            if self.gdb.request(f"Z1,{address:x},1") != "OK":
                raise BootError(f"QEMU refused a breakpoint at {address:#x}")
            self.breakpoints.add(address)

    def remove(self, address):
        if address in self.breakpoints:
            self.gdb.request(f"z1,{address:x},1")
            self.breakpoints.discard(address)

    def registers(self):
        return parse_info_registers(self.gdb.monitor("info registers"))

    def resume(self, under_cpu):
        """Continues until the next stop; returns False when the guest ended."""
        if under_cpu in self.breakpoints:
            # QEMU would stop at once on the breakpoint under the CPU: step over it alone.
            self.gdb.request(f"z1,{under_cpu:x},1")
            reply = self.gdb.request("s")
            if reply[:1] not in ("T", "S"):
                raise BootError(f"unexpected reply to a single step: {reply}")
            self.gdb.request(f"Z1,{under_cpu:x},1")
        reply = self.gdb.request("c")
        if reply[:1] in ("W", "X"):
            return False
        if reply[:1] not in ("T", "S"):
            raise BootError(f"unexpected stop reply from QEMU: {reply}")
        return True


def boot(guest, cmdline, work_dir, timeout_s, kernel, stops=True, on_stop=None, hooks=(), to_init=True):
    """Boots guest once; returns a Boot.

    kernel: the bzImage the guest boots (its hand-off candidates).
    stops: stop at the MBR and the hand-off (else: only the /init line's time).
    on_stop(gdb, what) runs at the MBR stop and at the hand-off ("16-bit", ...);
    what it returns lands in Stop.info (scripts/icount reads the instruction count there).
    hooks: objects with initial_breakpoints() and at(session, address, regs), called
    at their breakpoints from the MBR to the hand-off; at() returns more addresses
    to be called at (a return address) and may session.remove() one of its own.
    to_init: wait for the /init line after the hand-off; else stop QEMU there.
    """
    start = time.monotonic()
    deadline = start + timeout_s
    port = free_port() if stops else None
    with Qemu(guest, work_dir, timeout_s, port) as qemu:
        watcher = SerialWatcher(qemu.serial_log, cmdline)
        try:
            if stops:
                result = run_stops(qemu, guest, port, start, deadline, kernel, on_stop, hooks)
            else:
                result = Boot(None, None, None)
            if to_init:
                wait_for_init(qemu, watcher, deadline)
                result.init_seconds = time.monotonic() - start - result.stopped_s
            return result
        except BootError as error:
            said = qemu.said()
            raise BootError(f"{error}" + (f"; QEMU said: {said}" if said else "") +
                            (f"\n--- serial log ---\n{watcher.tail()}" if watcher.text else "")) from None
        finally:
            watcher.close()


def wait_for_init(qemu, watcher, deadline):
    while True:
        ended = qemu.process.poll() is not None
        verdict = watcher.poll()      # read once more after QEMU ended
        if verdict == "found":
            return
        if verdict == "failed":
            raise BootError("the guest failed or printed another command line")
        if ended:
            raise BootError(f"QEMU ended (exit code {qemu.process.returncode}) before the /init line")
        if time.monotonic() > deadline:
            raise BootError("timed out before the /init line")
        time.sleep(SERIAL_POLL_S)


def run_stops(qemu, guest, port, start, deadline, kernel, on_stop, hooks):
    gdb = GdbRemote(port, deadline, qemu.process)
    paused = time.monotonic()        # the guest has not run yet (-S): count the setup as stopped
    try:
        gdb.request("?")
        session = Session(gdb)
        candidates = handoff_candidates(kernel)
        for address in candidates.all():
            session.add(address)
        if guest.disk:
            session.add(MBR_ADDRESS)
        hooks_at = {}
        result = Boot(None, None, None)
        under_cpu = None
        while True:
            result.stopped_s += time.monotonic() - paused
            if not session.resume(under_cpu):
                raise BootError("the guest ended before the hand-off")
            paused = time.monotonic()
            result.stop_count += 1
            regs = session.registers()
            under_cpu = linear_pc(regs)
            seconds = paused - start - result.stopped_s
            if under_cpu == MBR_ADDRESS and result.mbr is None and guest.disk:
                info = on_stop(gdb, "mbr") if on_stop else None
                result.mbr = Stop("mbr", under_cpu, seconds, info or {})
                session.remove(MBR_ADDRESS)
                for hook in hooks:      # the hooks count from the MBR on
                    for address in hook.initial_breakpoints():
                        if hook not in hooks_at.setdefault(address, []):
                            hooks_at[address].append(hook)
                        session.add(address)
            for hook in list(hooks_at.get(under_cpu, ())):
                for address in hook.at(session, under_cpu, regs) or ():
                    if hook not in hooks_at.setdefault(address, []):
                        hooks_at[address].append(hook)
                    session.add(address)
            if under_cpu not in candidates.all():
                continue
            kind = classify(regs, candidates, gdb.read_phys_u32)
            if kind is None:
                result.skipped.append(under_cpu)
                continue
            info = on_stop(gdb, kind) if on_stop else None
            result.handoff = Stop(kind, under_cpu, seconds, info or {})
            for address in list(session.breakpoints):
                session.remove(address)
            gdb.send("D")                # detach: QEMU runs on without a debugger
            try:
                gdb.receive()
            except BootError:
                pass
            result.stopped_s += time.monotonic() - paused
            return result
    finally:
        gdb.close()
