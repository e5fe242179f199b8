#!/usr/bin/env python3
"""fletcher64 - the payload checksum bzboot records and stage 2 checks, computed
independently of the installer's C++ and stage 2's assembly, for the test drivers.

Fletcher-64 as bzboot defines it (docs/disk-format.md, "Checksum"): the bytes as
little-endian 32-bit words w[0..n), the last zero-padded; A = w[0] + ... + w[i]
and B = the sum of every such A, both modulo 2^32; the value is B << 32 | A.

    fletcher64.py FILE [OFFSET LENGTH]   prints the value as 0x%016x (exit 2: bad use)
"""

import itertools
import sys
from array import array

WORD = 4
MOD = 1 << 32


def fletcher64(data: bytes) -> int:
    data = bytes(data) + bytes(-len(data) % WORD)
    words = array("I")
    if words.itemsize != WORD:
        raise RuntimeError("array('I') is not 32 bits here")
    words.frombytes(data)
    if sys.byteorder != "little":
        words.byteswap()
    # A after each word is a prefix sum; B is their sum (both reduced at the end).
    prefix = list(itertools.accumulate(words))
    a = prefix[-1] % MOD if prefix else 0
    b = sum(prefix) % MOD
    return b << 32 | a


def main(argv):
    if len(argv) not in (2, 4):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        if len(argv) == 4:
            f.seek(int(argv[2]))
            data = f.read(int(argv[3]))
            if len(data) != int(argv[3]):
                print(f"fletcher64: {argv[1]} ends before {argv[2]} + {argv[3]}", file=sys.stderr)
                return 2
        else:
            data = f.read()
    print(f"0x{fletcher64(data):016x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
