#!/usr/bin/env python3
"""constants.py - every constant of the project's NASM includes, evaluated by NASM itself.

    constants.py --nasm NASM --out-dir GEN [-I DIR]... NAMESPACE=FILE.inc...

The .inc files are where values are written (one definition each). This script
  1. reads each file and accepts only the line forms below (anything else fails
     the build, naming the file and line);
  2. writes GEN/constants.asm, which %includes every file and emits `dq NAME` for
     each constant, and has NASM assemble it: NASM evaluates every expression, so
     `SECTOR_SIZE / 16` is what NASM says it is, and the files' own %if/%error
     checks run here too;
  3. writes the one generated file, GEN/constants.json ({namespace: {name: {value,
     width, comment, file, line}}}), and from it GEN/NAMESPACE.h (C++, one namespace
     per file), GEN/constants.sh (shell: NAME=decimal) and GEN/field.h.

Accepted lines:
  blank, or a comment (`; ...`)
  NAME equ EXPR                     ; comment
  field NAME, OFFSET, WIDTH         ; a byte field (include/field.inc): NAME and NAME_WIDTH
  struc NAME / .member resb|resw|resd|resq COUNT / endstruc
                                    ; NAME.member (offset and width), NAME_size; in C++
                                    ; NAME::member (a Field) and NAME_size
  %include "file"                   ; another include (NASM resolves it with -I)
  %ifndef GUARD / %define GUARD / %endif   ; include guards
  %if / %elif / %else / %endif / %error / %warning / %fatal
                                    ; assembly-time checks (no definitions inside)
Exit codes: 0 written, 1 a file has a line this script does not understand or NASM failed,
2 usage error.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
COMMENT = r"(?:;\s*(?P<comment>.*?))?"
RE_BLANK = re.compile(r"^\s*(;.*)?$")
RE_EQU = re.compile(rf"^(?P<name>{NAME})\s+equ\s+(?P<expr>[^;]+?)\s*{COMMENT}\s*$")
RE_FIELD = re.compile(
    rf"^field\s+(?P<name>{NAME})\s*,\s*(?P<expr>[^,;]+?)\s*,\s*(?P<width>[^,;]+?)\s*{COMMENT}\s*$")
RE_STRUC = re.compile(rf"^struc\s+(?P<name>{NAME})\s*{COMMENT}\s*$")
RE_MEMBER = re.compile(
    rf"^\s+\.(?P<name>{NAME})\s+res(?P<unit>[bwdq])\s+(?P<count>[^;]+?)\s*{COMMENT}\s*$")
RE_ENDSTRUC = re.compile(rf"^endstruc\s*{COMMENT}\s*$")
RE_INCLUDE = re.compile(rf'^%include\s+"[^"]+"\s*{COMMENT}\s*$')
RE_GUARD_IF = re.compile(rf"^%ifndef\s+(?P<name>{NAME})\s*{COMMENT}\s*$")
RE_GUARD_DEFINE = re.compile(rf"^%define\s+(?P<name>{NAME})\s*{COMMENT}\s*$")
RE_CHECK_OPEN = re.compile(r"^%(if|ifdef|ifndef)\b")
RE_CHECK_MIDDLE = re.compile(r"^%(elif|else)\b")
RE_CHECK_BODY = re.compile(r"^\s*%(error|warning|fatal)\b")
RE_ENDIF = re.compile(rf"^%endif\s*{COMMENT}\s*$")
UNIT_BYTES = {"b": 1, "w": 2, "d": 4, "q": 8}


class BadLine(Exception):
    pass


def parse(path, source_dir):
    """The constants of one file, in order: dicts with name, kind, expr, width, comment, line."""
    constants = []
    blocks = []  # "guard" or "check", innermost last
    struc = None  # name of the open struc
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, text in enumerate(lines, 1):
        def where():
            return f"{os.path.relpath(path, source_dir)}:{number}"

        def define(entry):
            if "check" in blocks:
                raise BadLine(f"{where()}: a definition inside an %if block: {text.strip()}")
            entry["line"] = number
            entry["comment"] = entry.get("comment") or ""
            constants.append(entry)

        if struc is not None:
            if m := RE_MEMBER.match(text):
                define({"name": f"{struc}.{m['name']}", "kind": "member", "expr": f"{struc}.{m['name']}", "struc": struc,
                        "width": f"({m['count']}) * {UNIT_BYTES[m['unit']]}", "comment": m["comment"]})
            elif m := RE_ENDSTRUC.match(text):
                define({"name": f"{struc}_size", "kind": "size", "expr": f"{struc}_size", "width": None,
                        "struc": struc})
                struc = None
            elif not RE_BLANK.match(text):
                raise BadLine(f"{where()}: not a struc member (.name resb|resw|resd|resq N): {text.strip()}")
            continue
        if RE_BLANK.match(text) or RE_INCLUDE.match(text):
            continue
        if m := RE_EQU.match(text):
            define({"name": m["name"], "kind": "equ", "expr": m["name"], "width": None, "comment": m["comment"]})
        elif m := RE_FIELD.match(text):
            define({"name": m["name"], "kind": "field", "expr": m["name"], "width": f"{m['name']}_WIDTH",
                    "comment": m["comment"]})
        elif m := RE_STRUC.match(text):
            struc = m["name"]
        elif m := RE_GUARD_IF.match(text):
            # An include guard when the next non-blank line defines the same name.
            following = next((t for t in lines[number:] if t.strip()), "")
            guard = RE_GUARD_DEFINE.match(following)
            blocks.append("guard" if guard and guard["name"] == m["name"] else "check")
        elif RE_GUARD_DEFINE.match(text) and blocks and blocks[-1] == "guard":
            continue
        elif RE_CHECK_OPEN.match(text):
            blocks.append("check")
        elif RE_CHECK_MIDDLE.match(text) or RE_CHECK_BODY.match(text):
            if "check" not in blocks:
                raise BadLine(f"{where()}: {text.strip().split()[0]} outside an %if block")
        elif RE_ENDIF.match(text):
            if not blocks:
                raise BadLine(f"{where()}: %endif without %if")
            blocks.pop()
        else:
            raise BadLine(f"{where()}: the constants generator does not understand this line: {text.strip()}")
    if struc is not None:
        raise BadLine(f"{path}: struc {struc} has no endstruc")
    if blocks:
        raise BadLine(f"{path}: an %if or %ifndef has no %endif")
    return constants


def evaluate(nasm, include_dirs, files, out_dir):
    """Has NASM assemble `dq` of every value and width; returns {name: (value, width)}."""
    asm = os.path.join(out_dir, "constants.asm")
    binary = os.path.join(out_dir, "constants.bin")
    items = [c for _, _, constants in files for c in constants]
    with open(asm, "w", encoding="utf-8") as f:
        f.write("; Generated by cmake/constants.py: every constant, for NASM to evaluate.\n")
        for _, path, _ in files:
            f.write(f'%include "{os.path.abspath(path)}"\n')
        f.write("bits 32\n")
        for c in items:
            f.write(f"dq {c['expr']}\ndq {c['width'] or 0}\n")
    include_args = [f"-I{os.path.join(d, '')}" for d in include_dirs]
    result = subprocess.run([nasm, "-f", "bin", "-Werror", *include_args, "-o", binary, asm],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BadLine(f"nasm could not evaluate the constants:\n{result.stderr.strip()}")
    with open(binary, "rb") as f:
        data = f.read()
    if len(data) != 16 * len(items):
        raise BadLine(f"{binary}: {len(data)} bytes, expected {16 * len(items)}")
    return {c["name"]: struct.unpack_from("<QQ", data, 16 * i) for i, c in enumerate(items)}


def cpp_comment(comment):
    return f"  // {comment}" if comment else ""


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


FIELD_H = """\
// Generated by cmake/constants.py: do not edit.
#pragma once
#include <cstdint>

namespace bzboot {
// A field of a structure the includes declare: its byte offset and width. It
// converts to its offset, so `base + FIELD` reads as before; readers that take a
// Field (for example ByteView::field) use the width declared beside the offset.
struct Field {
    std::uint64_t offset;
    unsigned width;
    constexpr operator std::uint64_t() const { return offset; }  // NOLINT: implicit on purpose
    constexpr std::uint64_t end() const { return offset + width; }
};
}  // namespace bzboot
"""


def cpp_header(namespace, source, entries):
    out = [f"// Generated from {source} by cmake/constants.py: do not edit.",
           "#pragma once", "#include <cstdint>", '#include "field.h"', "", f"namespace {namespace} {{",
           "using bzboot::Field;"]
    open_struc = None
    for e in entries:
        # A struc's members in a namespace of its name; its size beside it, named as
        # in NASM (E820_ENTRY_size), so that a member called `size` cannot clash.
        struc = e.get("struc") if e["kind"] == "member" else None
        if struc != open_struc:
            if open_struc:
                out.append(f"}}  // namespace {open_struc}")
            if struc:
                out.append(f"namespace {struc} {{")
            open_struc = struc
        if e["kind"] == "member":
            member = e["name"].split(".")[1]
            out.append(f"inline constexpr Field {member}{{{e['value']:#x}, {e['width']}}};{cpp_comment(e['comment'])}")
        elif e["kind"] == "size":
            out.append(f"inline constexpr std::uint64_t {e['name']} = {e['value']:#x};")
        elif e["kind"] == "field":
            out.append(f"inline constexpr Field {e['name']}{{{e['value']:#x}, {e['width']}}};"
                       f"{cpp_comment(e['comment'])}")
        else:
            out.append(f"inline constexpr std::uint64_t {e['name']} = {e['value']:#x};{cpp_comment(e['comment'])}")
    if open_struc:
        out.append(f"}}  // namespace {open_struc}")
    out.append(f"}}  // namespace {namespace}")
    return "\n".join(out) + "\n"


def shell_constants(table):
    out = ["# Generated by cmake/constants.py: do not edit. NAME=value (decimal) of every constant;",
           "# a field also has NAME_WIDTH; a struc member STRUC.member is STRUC__member."]
    for entries in table.values():
        for name, e in entries.items():
            var = name.replace(".", "__")
            out.append(f"{var}={e['value']}")
            if e["kind"] == "field":
                out.append(f"{var}_WIDTH={e['width']}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nasm", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--source-dir", default=".", help="file names in the output are relative to it")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[])
    parser.add_argument("files", nargs="+", metavar="NAMESPACE=FILE.inc")
    args = parser.parse_args()
    source_dir = args.source_dir
    specs = []
    for spec in args.files:
        namespace, sep, path = spec.partition("=")
        if not sep or not re.fullmatch(NAME, namespace):
            parser.error(f"{spec}: expected NAMESPACE=FILE.inc")
        specs.append((namespace, path))
    os.makedirs(args.out_dir, exist_ok=True)
    try:
        files = [(namespace, path, parse(path, source_dir)) for namespace, path in specs]
        values = evaluate(args.nasm, args.include_dirs, files, args.out_dir)
    except (BadLine, OSError) as error:
        print(f"constants.py: {error}", file=sys.stderr)
        return 1
    table = {}
    for namespace, path, constants in files:
        entries = table.setdefault(namespace, {})
        for c in constants:
            value, width = values[c["name"]]
            entries[c["name"]] = {"value": value, "width": width if c["width"] else None, "kind": c["kind"],
                                  "comment": c["comment"], "file": os.path.relpath(path, source_dir), "line": c["line"]}
            if "struc" in c:
                entries[c["name"]]["struc"] = c["struc"]
    write_if_changed(os.path.join(args.out_dir, "constants.json"), json.dumps(table, indent=1) + "\n")
    # Everything below is derived from the table just written.
    write_if_changed(os.path.join(args.out_dir, "field.h"), FIELD_H)
    for namespace, path, _ in files:
        entries = [dict(e, name=name) for name, e in table[namespace].items()]
        write_if_changed(os.path.join(args.out_dir, f"{namespace}.h"), cpp_header(namespace, os.path.relpath(path, source_dir), entries))
    write_if_changed(os.path.join(args.out_dir, "constants.sh"), shell_constants(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
