# tests/lib/constants.sh - sourced by the test drivers: the project's named
# constants (include/*.inc, declared once) and little-endian integers from files.
# Needs $root (the repository) and a usage() function of the sourcing script.

# const NAME FILE: the value of "NAME equ VALUE" in include/FILE, as a decimal number.
const() {
    local value
    value=$(awk -v name="$1" '$1 == name && $2 == "equ" {print $3}' "$root/include/$2")
    [[ -n $value ]] || usage "$1 not found in include/$2"
    echo $((value))
}

# u16 / u32 FILE OFFSET: little-endian integers from a file.
u16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
