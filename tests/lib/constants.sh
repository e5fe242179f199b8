# tests/lib/constants.sh - sourced by the test drivers: the project's named
# constants and little-endian integers from files.
#
# The constants are NASM's own evaluation of include/*.inc (and stage2/layout.inc),
# written by the build into <build>/gen/constants.sh (cmake/constants.py). The
# drivers run from ctest inside the build tree: the first directory above the
# working directory that holds CMakeCache.txt is the build; BZBOOT_GEN overrides.
# Needs a usage() function of the sourcing script.

bz_constants_file() {
    local dir
    if [[ -n ${BZBOOT_GEN:-} ]]; then
        echo "$BZBOOT_GEN/constants.sh"
        return
    fi
    dir=$PWD
    while [[ $dir != / && ! -f $dir/CMakeCache.txt ]]; do dir=$(dirname "$dir"); done
    [[ -f $dir/CMakeCache.txt ]] || usage "not inside a build tree: run from ctest, or set BZBOOT_GEN to <build>/gen"
    echo "$dir/gen/constants.sh"
}
bz_constants=$(bz_constants_file)
[[ -f $bz_constants ]] || usage "$bz_constants is missing: build first (make)"
# shellcheck source=/dev/null
source "$bz_constants"

# const NAME: the value of a constant (decimal); a typo is a usage error, never 0.
const() {
    [[ -n ${!1+set} ]] || usage "constant $1 not found in $bz_constants"
    echo "${!1}"
}

# get FILE FIELD [BASE]: the little-endian value of FIELD (a `field` of the includes,
# read with its declared width) at byte BASE + FIELD of FILE.
get() {
    local offset width
    offset=$(const "$2") width=$(const "$2_WIDTH")
    od -An -tu"$width" -j $((${3:-0} + offset)) -N"$width" "$1" | tr -d ' '
}

# put FILE FIELD VALUE [BASE]: writes VALUE as FIELD (its declared width, little-endian)
# at byte BASE + FIELD of FILE.
put() {
    local offset width value=$3 bytes="" i
    offset=$((${4:-0} + $(const "$2"))) width=$(const "$2_WIDTH")
    for ((i = 0; i < width; i++)); do
        bytes+=$(printf '\\%03o' $(((value >> (8 * i)) & 0xFF)))
    done
    printf "$bytes" | dd of="$1" bs=1 seek="$offset" conv=notrunc status=none
}
