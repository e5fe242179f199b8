# images/common.sh - what the image recipes share (sourced, not run): the common
# options, error exits, and a disk image with one FAT partition at 1 MiB, made
# without root, loop devices or mounts (sfdisk, mkfs.fat, mtools, dd only).
#
# A recipe sets `recipe` (its name), `usage` (its usage text) and `recipe_options`
# (its own options, each taking a value), then calls parse_options "$@". Values end
# up in opt[--name]; the common ones are checked here:
#   --kernel BZIMAGE   required
#   --initrd FILE      optional (no initrd without it)
#   --cmdline STRING   required (may be empty)
#   --out IMAGE        required; written as IMAGE.tmp, renamed when complete
#   --size MiB         whole image, default DEFAULT_SIZE_MIB
# Exit codes: 0 built, 1 a tool failed or the files do not fit, 2 bad arguments.

DEFAULT_SIZE_MIB=64
PARTITION_START_SECTOR=2048           # 1 MiB: the gap before it holds GRUB's core.img
SECTOR_BYTES=512
PARTITION_START_BYTES=$((PARTITION_START_SECTOR * SECTOR_BYTES))
FAT16_MAX_MIB=2048                    # FAT16 with 32 KiB clusters ends at 2 GiB
FAT16_MIN_MIB=16                      # below this mkfs.fat's FAT16 has too few clusters
PARTITION_TYPE_FAT16_LBA=0e
DISK_SIGNATURE=0x627a6931             # "1izb": fixed, so that images are comparable
FAT_VOLUME_ID=627a6931
FAT_LABEL=BZIMAGES
# 8.3 names on the FAT file system: every loader here reads them.
KERNEL_NAME=VMLINUZ
INITRD_NAME=INITRD.IMG

declare -A opt=()

die() {
    echo "images/$recipe: $*" >&2
    exit 1
}

usage_error() {
    echo "images/$recipe: $*" >&2
    echo "usage: $usage" >&2
    exit 2
}

need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "'$tool' is missing (scripts/setup installs it)"
    done
}

parse_options() {
    local known=" --kernel --initrd --cmdline --out --size ${recipe_options[*]-} "
    while (($#)); do
        case $1 in
            -h | --help)
                echo "usage: $usage"
                exit 0
                ;;
            --*)
                [[ $known == *" $1 "* ]] || usage_error "unknown option '$1'"
                (($# >= 2)) || usage_error "$1 needs a value"
                opt[$1]=$2
                shift 2
                ;;
            *) usage_error "unexpected argument '$1'" ;;
        esac
    done
    [[ -n ${opt[--kernel]-} ]] || usage_error "--kernel is required"
    [[ -f ${opt[--kernel]} ]] || usage_error "no kernel file '${opt[--kernel]}'"
    [[ -z ${opt[--initrd]-} || -f ${opt[--initrd]} ]] || usage_error "no initrd file '${opt[--initrd]}'"
    [[ -v opt[--cmdline] ]] || usage_error "--cmdline is required (may be '')"
    [[ -n ${opt[--out]-} ]] || usage_error "--out is required"
    opt[--size]=${opt[--size]-$DEFAULT_SIZE_MIB}
    [[ ${opt[--size]} =~ ^[1-9][0-9]*$ ]] || usage_error "--size takes whole MiB, got '${opt[--size]}'"
}

# Creates $1 (opt[--size] MiB) with an MBR partition table: one active FAT16
# partition from 1 MiB to the end, formatted, holding KERNEL_NAME and INITRD_NAME
# (the files given). The MBR's boot code is left zero for the recipe.
make_fat_disk() {
    local img=$1 size_mib=${opt[--size]} part=$1.fat
    ((size_mib >= FAT16_MIN_MIB && size_mib <= FAT16_MAX_MIB)) ||
        usage_error "--size must be $FAT16_MIN_MIB..$FAT16_MAX_MIB MiB for a FAT16 partition, got $size_mib"
    local part_sectors=$(((size_mib << 20) / SECTOR_BYTES - PARTITION_START_SECTOR))
    local need=$(stat -c %s "${opt[--kernel]}")
    [[ -z ${opt[--initrd]-} ]] || need=$((need + $(stat -c %s "${opt[--initrd]}")))
    rm -f "$img" "$part"
    truncate -s "${size_mib}M" "$img"
    sfdisk --quiet --no-reread --no-tell-kernel "$img" <<EOF || die "sfdisk failed on $img"
label: dos
label-id: $DISK_SIGNATURE
start=$PARTITION_START_SECTOR, size=$part_sectors, type=$PARTITION_TYPE_FAT16_LBA, bootable
EOF
    # -h: the hidden sectors before the partition (SYSLINUX's boot sector reads them).
    mkfs.fat -F 16 -h "$PARTITION_START_SECTOR" -i "$FAT_VOLUME_ID" -n "$FAT_LABEL" \
        -C "$part" $((part_sectors / 2)) >/dev/null || die "mkfs.fat failed"
    local free=$(($(mdir -i "$part" :: | awk '/bytes free/ {gsub(/ /, "", $0); print $0+0}')))
    ((need < free)) || die "kernel and initrd ($need bytes) do not fit a ${size_mib} MiB image; raise --size"
    mcopy -i "$part" "${opt[--kernel]}" "::/$KERNEL_NAME" || die "mcopy of the kernel failed"
    if [[ -n ${opt[--initrd]-} ]]; then
        mcopy -i "$part" "${opt[--initrd]}" "::/$INITRD_NAME" || die "mcopy of the initrd failed"
    fi
    dd if="$part" of="$img" bs=1M seek=$((PARTITION_START_BYTES >> 20)) conv=notrunc status=none ||
        die "cannot write the partition into $img"
    rm -f "$part"
}

# Writes boot code $1 over the MBR of image $2, bytes [0, MBR_CODE_END) only: the
# disk signature and partition table after it stay.
MBR_CODE_END=440
write_mbr_code() {
    local code=$1 img=$2
    dd if="$code" of="$img" bs=1 count=$MBR_CODE_END conv=notrunc status=none || die "cannot write the MBR of $img"
}

# The output's temporary name; finish_image renames it once complete.
start_image() {
    mkdir -p "$(dirname "${opt[--out]}")" || die "cannot create the directory of ${opt[--out]}"
    tmp_image=${opt[--out]}.tmp
    trap 'rm -f "$tmp_image" "$tmp_image.fat"' EXIT
}

finish_image() {
    mv "$tmp_image" "${opt[--out]}"
    trap - EXIT
    echo "images/$recipe: wrote ${opt[--out]} (${opt[--size]} MiB)"
}
