; stage2.asm - bzboot's real-mode loader.
;
; Entry (from the MBR): real mode, CS:IP = 0000:STAGE2_LOAD_ADDR, DL = boot
;   drive, interrupts on. The installer patched the parameter block below
;   with the LBA of the payload partition (and, for tests only, S2_FLAG_*).
;
; What it does, in order (each step prints a line; any failure prints what
; and where, then halts - it never jumps into a half-loaded kernel):
;   1. COM1 and the screen for messages; A20 on and verified.
;   2. The disk method (INT 13h extensions, else CHS; for the kernel and the
;      initrd IDE bus-master DMA, when the drive is on a PCI IDE controller);
;      the payload header (magic, version, checksum), the command line.
;   3. The memory map (E820, else E801, else 88h).
;   4. The kernel's real-mode setup at X = SETUP_BASE, its header checked.
;   5. The protected-mode kernel at 0x100000, the initrd as high as allowed,
;      each file's checksum checked where it lies (checksum.inc).
;   6. The loader's header fields, the disk controller as the BIOS had it,
;      then the hand-off (hand-off16.inc, handoff64.inc).
;
; Memory while stage 2 runs: stage2/layout.inc declares and checks every region
; (docs/memory-layout.md draws it). Each include keeps its variables beside its
; code in .bss, which follows the image: the MBR loads the image only, and
; start zeroes the bss.

%include "layout.inc"
%include "entry.inc"
%include "fletcher64.inc"           ; FLETCHER64, for the variables below (checksum.inc)

bits 16
%ifidn __OUTPUT_FORMAT__, bin
org STAGE2_START
%endif

PAGE_MASK           equ ~(PAGE_SIZE - 1)
SECTOR_SHIFT        equ 9           ; log2(SECTOR_SIZE): sectors -> bytes
SETUP_HEADER_SECTORS equ 2          ; the header runs from 0x1F1 to at most 0x281

%if (1 << SECTOR_SHIFT) != SECTOR_SIZE
%error "SECTOR_SHIFT does not match SECTOR_SIZE"
%endif

section .text
stage2_start:
    jmp near start                  ; 3 bytes, then one pad byte
    db 0
    ; --- parameter block, patched by bzinstall (offsets in diskformat.inc) ---
s2_magic:           dd S2_PARAM_MAGIC
payload_lba:        dd 0
s2_sectors:         dw 0
s2_flags:           dw 0            ; S2_FLAG_*: 0 unless bzinstall --debug-disk chs|int13

; The labels above are where bzinstall writes (no bytes: checks at assembly time).
%if (s2_magic - stage2_start) != S2_PARAM_MAGIC_OFF || (payload_lba - stage2_start) != S2_PARAM_PAYLOAD_LBA
%error "stage 2 parameter block out of step with diskformat.inc"
%endif
%if (s2_sectors - stage2_start) != S2_PARAM_SECTORS || (s2_flags - stage2_start) != S2_PARAM_FLAGS
%error "stage 2 parameter block out of step with diskformat.inc"
%endif

section .bss nobits
bss_start:                          ; the first variable of every include follows
section .text

start:
    STAGE2_ENTRY_STATE
    mov [boot_drive], dl
    mov byte [last_char], 10

    call serial_init
    mov si, msg_banner
    call say

    mov si, msg_not_installed
    cmp dword [payload_lba], 0
    je die

    call enable_a20
    mov si, msg_a20_failed
    jc die
    mov si, msg_a20_on
    call say

    call disk_init
    mov si, msg_no_disk
    jc die
    call dma_init
    call report_disk
    call load_payload_header

    mov eax, [payload_flags]
    call detect_memory
    mov si, msg_no_memory_map
    jc die
    call sanitize_memory_map
    call report_memory

    call load_setup
    call check_memory_needs
    call load_kernel
    call load_initrd
    call fill_header
    call dma_release
    test dword [payload_flags], PF_HANDOFF64
    jnz handoff64
    jmp handoff16

; report_memory: "memory: N KiB usable below 4 GiB (E820, M entries)".
; In: mem_map, mem_map_count, mem_source   Out: nothing
; Clobbers: EAX, BX, SI, flags
; Assumes: real mode, DS = 0
report_memory:
    mov si, msg_memory
    call say
    call ram_total_kib
    call print_dec32
    mov si, msg_kib_from
    call puts
    movzx bx, byte [mem_source]
    shl bx, 1
    mov si, [mem_source_names + bx - 2]
    call puts
    mov si, msg_comma
    call puts
    movzx eax, word [mem_map_count]
    call print_dec32
    mov si, msg_entries
    call puts
    ret

; read_to_bounce: CX sectors at payload-relative sector EAX into the bounce buffer.
; In: EAX = sector in the payload partition, CX = sectors (1..BOUNCE_SECTORS)
; Out: the sectors at BOUNCE_SEG:0000; never returns on a read error (read_sectors)
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = 0
read_to_bounce:
    push eax
    push es
    add eax, [payload_lba]
    push word BOUNCE_SEG
    pop es
    call read_sectors
    pop es
    pop eax
    ret

; load_payload_header: read and check the payload header, keep its fields,
;   copy the command line to CMDLINE_START and print it.
; In: payload_lba
; Out: payload_flags, kernel_*, initrd_*, cmdline_len; never returns when the
;   header is damaged or from another version (die)
; Clobbers: EAX, BX, ECX, EDX, ESI, EDI, flags
; Assumes: real mode, DS = ES = 0, DF clear, A20 on
load_payload_header:
    xor eax, eax
    mov cx, PAYLOAD_HDR_SECTORS
    call read_to_bounce
    push ds
    push word BOUNCE_SEG
    pop ds
    xor si, si
    cmp dword [si + PH_MAGIC], PAYLOAD_MAGIC0
    jne .bad
    cmp dword [si + PH_MAGIC + 4], PAYLOAD_MAGIC1
    jne .bad
    cmp dword [si + PH_VERSION], PAYLOAD_VERSION
    jne .bad_version
    ; The header's own checksum is taken with its field zero (EDI:EDX keeps it).
    mov edx, [si + PH_HEADER_FLETCHER64 + FLETCHER64.a]
    mov edi, [si + PH_HEADER_FLETCHER64 + FLETCHER64.b]
    mov dword [si + PH_HEADER_FLETCHER64 + FLETCHER64.a], 0
    mov dword [si + PH_HEADER_FLETCHER64 + FLETCHER64.b], 0
    pop ds
    push ds
    call sum_start
    mov esi, BOUNCE_START
    mov ecx, PAYLOAD_HDR_SIZE
    call sum_high
    cmp edx, [running_sum + FLETCHER64.a]
    jne .bad
    cmp edi, [running_sum + FLETCHER64.b]
    jne .bad
    push word BOUNCE_SEG
    pop ds
    xor si, si
    ; Keep what we need of it before the bounce buffer is reused.
    mov eax, [si + PH_FLAGS]
    mov [es:payload_flags], eax
    mov eax, [si + PH_KERNEL_SECTOR]
    mov [es:kernel_sector], eax
    mov eax, [si + PH_KERNEL_SIZE]
    mov [es:kernel_size], eax
    mov eax, [si + PH_INITRD_SECTOR]
    mov [es:initrd_sector], eax
    mov eax, [si + PH_INITRD_SIZE]
    mov [es:initrd_size], eax
    mov eax, [si + PH_KERNEL_FLETCHER64 + FLETCHER64.a]
    mov [es:kernel_sum + FLETCHER64.a], eax
    mov eax, [si + PH_KERNEL_FLETCHER64 + FLETCHER64.b]
    mov [es:kernel_sum + FLETCHER64.b], eax
    mov eax, [si + PH_INITRD_FLETCHER64 + FLETCHER64.a]
    mov [es:initrd_sum + FLETCHER64.a], eax
    mov eax, [si + PH_INITRD_FLETCHER64 + FLETCHER64.b]
    mov [es:initrd_sum + FLETCHER64.b], eax
    mov eax, [si + PH_CMDLINE_LEN]
    cmp eax, PH_CMDLINE_MAX
    ja .bad
    mov [es:cmdline_len], eax
    ; The command line goes to X+0x10000, NUL-terminated (boot.rst).
    mov cx, ax
    inc cx                          ; with its NUL
    mov si, PH_CMDLINE
    push es
    push word CMDLINE_SEG
    pop es
    xor di, di
    rep movsb
    mov byte [es:di - 1], 0         ; terminate even if the header lied
    pop es
    pop ds
    mov si, msg_cmdline
    call say
    push ds
    push word CMDLINE_SEG
    pop ds
    xor si, si
    call puts                       ; DS-relative: prints the copied command line
    pop ds
    call newline
    ret
.bad_version:
    pop ds
    mov si, msg_payload_version
    jmp die
.bad:
    pop ds
    mov si, msg_bad_payload
    jmp die

; load_setup: the boot sector and setup (setup_sects + 1 sectors) at X, and
;   the header checks of boot.rst before anything is loaded high.
; In: kernel_sector, kernel_size, cmdline_len
; Out: protocol, setup_sects, pm_size; never returns when the kernel is not
;   one bzboot can boot (die)
; Clobbers: EAX, BX, CX, EDX, SI, flags
; Assumes: real mode, DS = ES = 0
load_setup:
    push es
    mov eax, [kernel_sector]
    add eax, [payload_lba]
    push word SETUP_SEG
    pop es
    mov cx, SETUP_HEADER_SECTORS
    call read_sectors               ; the boot sector and the sector the header ends in
    mov si, msg_not_bzimage
    cmp word [es:HDR_BOOT_FLAG], BOOT_FLAG_MAGIC
    jne .die
    cmp dword [es:HDR_HEADER], HDRS_MAGIC
    jne .die
    mov bx, [es:HDR_VERSION]
    mov [protocol], bx
    mov si, msg_old_protocol
    cmp bx, PROTOCOL_MIN
    jb .die
    mov si, msg_not_loaded_high
    test byte [es:HDR_LOADFLAGS], LOADED_HIGH
    jz .die
    movzx cx, byte [es:HDR_SETUP_SECTS]
    test cx, cx
    jnz .have_sects
    mov cx, SETUP_SECTS_DEFAULT     ; boot.rst: 0 means 4
.have_sects:
    mov si, msg_bad_setup_sects
    cmp cx, SETUP_SECTS_MAX
    ja .die
    mov [setup_sects], cx
    ; Command line length against cmdline_size (255 before protocol 2.06).
    mov edx, CMDLINE_SIZE_PRE_2_06
    cmp bx, PROTOCOL_2_06
    jb .have_cmdline_size
    mov edx, [es:HDR_CMDLINE_SIZE]
.have_cmdline_size:
    mov si, msg_cmdline_too_long
    cmp [cmdline_len], edx
    ja .die
    ; The rest of the setup right behind the header's sectors.
    add eax, SETUP_HEADER_SECTORS
    sub cx, SETUP_HEADER_SECTORS - 1
    jz .setup_read                  ; setup_sects = 1: nothing left
    mov dx, es
    add dx, SETUP_HEADER_SECTORS * PARAGRAPHS_PER_SECTOR
    mov es, dx
    call read_sectors
.setup_read:
    pop es
    ; Size of the protected-mode part: the file minus boot sector and setup.
    movzx eax, word [setup_sects]
    inc eax
    shl eax, 9                      ; sectors -> bytes
    mov si, msg_not_bzimage
    mov edx, [kernel_size]
    sub edx, eax
    jbe die                         ; nothing after the setup: not a bzImage
    mov [pm_size], edx
    mov si, msg_setup_loaded
    call say
    mov eax, [protocol]
    and eax, 0xFFFF
    call print_hex32
    call newline
    ret
.die:
    pop es
    jmp die

; kernel_windows: from the header, the kernel's decompression windows and
;   initrd_addr_max.
; In: the header at X, protocol, pm_size
; Out: init_size, pref_address, window_lo_end = 0x100000 + init_size,
;   window_pref_end = pref_address + init_size, initrd_addr_max
; Clobbers: EAX, ECX, EDX, flags
; Assumes: real mode, DS = 0
kernel_windows:
    push es
    push word SETUP_SEG
    pop es
    mov eax, [pm_size]              ; before 2.10 there is no init_size
    mov ecx, BZIMAGE_LOAD_ADDR      ; nor pref_address
    cmp word [protocol], PROTOCOL_2_10
    jb .have
    mov eax, [es:HDR_INIT_SIZE]
    mov ecx, [es:HDR_PREF_ADDRESS]
    cmp dword [es:HDR_PREF_ADDRESS + 4], 0
    je .have
    mov ecx, BZIMAGE_LOAD_ADDR      ; a preferred address above 4 GiB: ignore it
.have:
    mov [init_size], eax
    mov [pref_address], ecx
    mov edx, BZIMAGE_LOAD_ADDR
    add edx, eax
    mov [window_lo_end], edx
    add ecx, eax
    mov [window_pref_end], ecx
    mov eax, INITRD_ADDR_MAX_PRE_2_03
    cmp word [protocol], PROTOCOL_2_03
    jb .max
    mov eax, [es:HDR_INITRD_ADDR_MAX]
.max:
    mov [initrd_addr_max], eax
    pop es
    ret

; check_memory_needs: the kernel decompresses into [0x100000, 0x100000 +
;   init_size) and, when relocatable, [pref_address, pref_address + init_size):
;   both must be RAM. Otherwise say how much is needed and stop.
; In: the header at X, mem_map   Out: as kernel_windows; never returns when
;   a window is not RAM
; Clobbers: EAX, EBX, ECX, EDX, flags
; Assumes: real mode, DS = 0
check_memory_needs:
    call kernel_windows
    mov eax, BZIMAGE_LOAD_ADDR
    mov ebx, [window_lo_end]
    call ram_contains
    jc .short
    mov eax, [pref_address]
    mov ebx, [window_pref_end]
    call ram_contains
    jc .short
    ret
.short:
    mov si, msg_error
    call say
    mov si, msg_memory_short
    call puts
    ; needed = the higher window end + the initrd, in MiB rounded up
    mov eax, [window_lo_end]
    cmp eax, [window_pref_end]
    jae .have_end
    mov eax, [window_pref_end]
.have_end:
    add eax, [initrd_size]
    add eax, ONE_MIB - 1
    shr eax, 20
    call print_dec32
    mov si, msg_memory_have
    call puts
    call ram_total_kib
    shr eax, 10
    call print_dec32
    mov si, msg_mib
    call puts
    call newline
    jmp die_silently

; load_extent: ECX bytes from payload-relative sector EAX to linear EDI, in
;   pieces of DMA_SECTORS (read_to_high: by DMA or through INT 13h), a dot each.
; In: EAX = sector in the payload partition, ECX = bytes, EDI = linear
;   destination (even)
; Out: the bytes at EDI (whole sectors: up to 511 bytes more); extent_first,
;   extent_sectors (for sum_or_reread); never returns on a read error
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = ES = 0, DF clear, A20 on, interrupts on
load_extent:
    pushad
    mov edx, eax
    add edx, [payload_lba]
    mov [extent_first], edx
    mov edx, ecx
    add edx, SECTOR_SIZE - 1
    shr edx, SECTOR_SHIFT
    mov [extent_sectors], edx
.piece:
    test ecx, ecx
    jz .done
    mov ebx, DMA_SECTORS * SECTOR_SIZE
    cmp ecx, ebx
    jae .full
    mov ebx, ecx
.full:
    ; EBX = bytes in this piece; read whole sectors
    push ecx
    mov ecx, ebx
    add ecx, SECTOR_SIZE - 1
    shr ecx, SECTOR_SHIFT
    call read_to_high
    add eax, ecx                    ; next sector
    add edi, ebx
    pop ecx
    sub ecx, ebx
    push eax
    mov al, '.'
    call putc
    pop eax
    jmp .piece
.done:
    popad
    ret

; sum_or_reread: after summing a file: when the sum is not the recorded one and
;   DMA read the file, say so and have the caller read it again, through INT 13h
;   from now on (dma_off); otherwise check_sum (which halts on a mismatch).
; In: BX = address of the recorded FLETCHER64, SI = check_sum's message,
;   running_sum, extent_first, extent_sectors, use_dma, dma_off
; Out: CF set: read the file again; CF clear: the sums agree
; Clobbers: EAX, ECX, EDX, flags
; Assumes: real mode, DS = 0
sum_or_reread:
    cmp byte [use_dma], 0
    je .check
    cmp byte [dma_off], 0
    jne .check                      ; INT 13h read it: its sum is the disk's
    mov eax, [running_sum + FLETCHER64.a]
    cmp eax, [bx + FLETCHER64.a]
    jne .reread
    mov eax, [running_sum + FLETCHER64.b]
    cmp eax, [bx + FLETCHER64.b]
    jne .reread
.check:
    call check_sum
    clc
    ret
.reread:
    mov byte [dma_off], 1
    mov eax, [extent_first]
    mov ecx, [extent_sectors]
    call warn_dma_sum
    stc
    ret

; load_kernel: the protected-mode part at 0x100000 (boot.rst: bzImage), the
;   file's checksum checked where it lies: the boot sector and setup at X, then
;   the rest at 0x100000.
; In: kernel_sector, setup_sects, pm_size, kernel_sum
; Out: the kernel at 0x100000; never returns on a read error or a wrong checksum
; Clobbers: EAX, BX, ECX, EDX, ESI, EDI, flags
; Assumes: real mode, DS = ES = 0, A20 on
load_kernel:
    mov si, msg_loading_kernel
    call say
    mov eax, [pm_size]
    call print_dec32
    mov si, msg_bytes
    call puts
.read:
    mov eax, [kernel_sector]
    add eax, [setup_sects]
    inc eax                         ; skip boot sector and setup
    mov ecx, [pm_size]
    mov edi, BZIMAGE_LOAD_ADDR
    call load_extent
    call newline
    ; The file starts with the boot sector and setup, still untouched at X.
    call sum_start
    mov esi, SETUP_START
    mov ecx, [setup_sects]
    inc ecx
    shl ecx, SECTOR_SHIFT           ; whole sectors: whole words
    call sum_high
    mov esi, BZIMAGE_LOAD_ADDR
    mov ecx, [pm_size]
    call sum_high
    mov bx, kernel_sum
    mov si, msg_kernel_changed
    call sum_or_reread
    jc .read
    ret

; place_initrd: the highest page-aligned address for an initrd of
;   initrd_size bytes inside one usable E820 range, its last byte at or below
;   initrd_addr_max, and outside both decompression windows.
; In: initrd_size, initrd_addr_max, the windows, mem_map
; Out: EAX = the address; 0 when there is none
; Clobbers: flags
; Assumes: real mode, DS = 0
place_initrd:
    push ebx
    push ecx
    push edx
    push si
    push bp
    xor ebx, ebx                    ; best so far
    mov ecx, [initrd_size]
    add ecx, PAGE_SIZE - 1
    and ecx, PAGE_MASK              ; room for whole pages (the copy is sector-rounded)
    mov bp, [mem_map_count]
    mov si, mem_map
.entry:
    test bp, bp
    jz .done
    cmp dword [si + E820_ENTRY.type], E820_TYPE_RAM
    jne .next
    cmp dword [si + E820_ENTRY.base + 4], 0
    jne .next
    call entry_end32                ; EDX = end (exclusive, clipped)
    ; top = min(end, initrd_addr_max + 1), 0 meaning 4 GiB
    mov eax, [initrd_addr_max]
    inc eax
    jz .have_top                    ; initrd_addr_max = 0xFFFFFFFF
    cmp edx, eax
    jbe .have_top
    mov edx, eax
.have_top:
    cmp edx, ecx
    jb .next
    mov eax, edx
    sub eax, ecx
    and eax, PAGE_MASK
.check:
    cmp eax, [si + E820_ENTRY.base] ; below the range's start: does not fit here
    jb .next
    cmp eax, BZIMAGE_LOAD_ADDR
    jb .next
    ; overlaps [0x100000, window_lo_end)? then try just below it
    mov edx, eax
    add edx, ecx
    cmp eax, [window_lo_end]
    jae .not_lo
    cmp edx, BZIMAGE_LOAD_ADDR
    jbe .not_lo
    jmp .next                       ; below the low window there is no room (< 1 MiB)
.not_lo:
    cmp eax, [window_pref_end]
    jae .fits
    cmp edx, [pref_address]
    jbe .fits
    mov eax, [pref_address]         ; move below the preferred window
    cmp eax, ecx
    jb .next
    sub eax, ecx
    and eax, PAGE_MASK
    jmp .check
.fits:
    cmp eax, ebx
    jbe .next
    mov ebx, eax
.next:
    add si, E820_ENTRY_SIZE
    dec bp
    jmp .entry
.done:
    mov eax, ebx
    pop bp
    pop si
    pop edx
    pop ecx
    pop ebx
    ret

; load_initrd: the initrd as high as possible (boot.rst), its checksum checked
;   where it lies.
; In: initrd_sector, initrd_size, initrd_sum, mem_map, the windows
; Out: initrd_addr (0: no initrd); never returns when there is no room, on a
;   read error or a wrong checksum
; Clobbers: EAX, BX, ECX, EDX, ESI, EDI, flags
; Assumes: real mode, DS = ES = 0, A20 on
load_initrd:
    cmp dword [initrd_size], 0
    je .none
    call place_initrd
    test eax, eax
    jz .no_room
    mov [initrd_addr], eax
    mov si, msg_loading_initrd
    call say
    mov eax, [initrd_size]
    call print_dec32
    mov si, msg_bytes_at
    call puts
    mov eax, [initrd_addr]
    call print_hex32
    mov al, ' '
    call putc
.read:
    mov eax, [initrd_sector]
    mov ecx, [initrd_size]
    mov edi, [initrd_addr]
    call load_extent
    call newline
    call sum_start
    mov esi, [initrd_addr]
    mov ecx, [initrd_size]
    call sum_high
    mov bx, initrd_sum
    mov si, msg_initrd_changed
    call sum_or_reread
    jc .read
.none:
    ret
.no_room:
    mov si, msg_initrd_no_room
    jmp die

; fill_header: the fields a boot loader writes (boot.rst, "Details of Header Fields").
; In: initrd_addr, initrd_size   Out: the header at X
; Clobbers: EAX, flags
; Assumes: real mode, DS = 0
fill_header:
    push es
    push word SETUP_SEG
    pop es
    mov byte [es:HDR_TYPE_OF_LOADER], TYPE_OF_LOADER_UNDEF
    mov al, [es:HDR_LOADFLAGS]
    or al, CAN_USE_HEAP
    and al, ~QUIET_FLAG & 0xFF      ; let the kernel print its early messages
    mov [es:HDR_LOADFLAGS], al
    mov word [es:HDR_HEAP_END_PTR], SETUP_HEAP_END_PTR
    mov dword [es:HDR_CMD_LINE_PTR], CMDLINE_START
    mov eax, [initrd_addr]
    mov [es:HDR_RAMDISK_IMAGE], eax
    mov eax, [initrd_size]
    mov [es:HDR_RAMDISK_SIZE], eax
    mov word [es:HDR_VID_MODE], VID_MODE_NORMAL
    pop es
    ret

; stage2.asm's own variables: the payload and the kernel, as the steps find them.
section .bss nobits
protocol:           resw 1
setup_sects:        resd 1          ; as a dword: added to 32-bit sector numbers
alignb 4
payload_flags:      resd 1
kernel_sector:      resd 1
kernel_size:        resd 1
initrd_sector:      resd 1
initrd_size:        resd 1
initrd_addr:        resd 1
cmdline_len:        resd 1
pm_size:            resd 1
init_size:          resd 1
pref_address:       resd 1
initrd_addr_max:    resd 1
window_lo_end:      resd 1
window_pref_end:    resd 1
kernel_sum:         resb FLETCHER64_size    ; as the payload header records them
initrd_sum:         resb FLETCHER64_size
extent_first:       resd 1          ; load_extent's last extent: its first sector (LBA) ...
extent_sectors:     resd 1          ; ... and its length
section .text

%include "console.inc"
%include "a20.inc"
%include "memory.inc"
%include "disk.inc"
%include "ide_dma.inc"
%include "highmem.inc"
%include "handoff16.inc"
%include "handoff64.inc"
%include "checksum.inc"

msg_banner:         db "stage 2", 10, 0
msg_not_installed:  db "not installed: no payload partition recorded", 0
msg_a20_failed:     db "cannot enable the A20 gate", 0
msg_a20_on:         db "A20 on", 10, 0
msg_no_memory_map:  db "the BIOS reports no memory map (E820, E801, 88h)", 0
msg_memory:         db "memory: ", 0
msg_kib_from:       db " KiB usable below 4 GiB (", 0
msg_comma:          db ", ", 0
msg_entries:        db " entries)", 10, 0
msg_no_disk:        db "boot drive has neither INT 13h extensions nor CHS geometry", 0
msg_bad_payload:    db "payload header damaged or missing (run bzinstall again)", 0
msg_payload_version: db "payload header from another bzboot version (run bzinstall again)", 0
msg_cmdline:        db "command line: ", 0
msg_not_bzimage:    db "kernel is not a bzImage (no 0xAA55/HdrS header)", 0
msg_old_protocol:   db "kernel boot protocol older than 2.02", 0
msg_not_loaded_high: db "kernel is a zImage (LOADED_HIGH clear)", 0
msg_bad_setup_sects: db "kernel setup_sects too large", 0
msg_cmdline_too_long: db "command line longer than the kernel's cmdline_size", 0
msg_setup_loaded:   db "kernel setup at 0x10000, boot protocol ", 0
msg_memory_short:   db "not enough memory: the kernel needs ", 0
msg_memory_have:    db " MiB, this machine has ", 0
msg_mib:            db " MiB", 0
msg_loading_kernel: db "kernel: ", 0
msg_bytes:          db " bytes at 0x100000 ", 0
msg_loading_initrd: db "initrd: ", 0
msg_bytes_at:       db " bytes at ", 0
msg_kernel_changed: db "the kernel changed on disk since bzinstall wrote it", 0
msg_initrd_changed: db "the initrd changed on disk since bzinstall wrote it", 0
msg_initrd_no_room: db "no room for the initrd in usable RAM below initrd_addr_max", 0
mem_source_names:   dw name_e820, name_e801, name_88h
name_e820:          db "E820", 0
name_e801:          db "E801", 0
name_88h:           db "88h", 0

; The image ends here, padded to whole sectors: the MBR loads those.
image_end:
    align SECTOR_SIZE, db 0
stage2_image_end:

section .bss
alignb 4
bss_end:                            ; past the last variable of every include

; Stage 2 against its region (layout.inc): assembly fails (negative TIMES) when
; the image outgrows STAGE2_MAX_SECTORS, or the image and its bss run into X.
section .text
    times -((stage2_image_end - stage2_start) > STAGE2_MAX_SECTORS * SECTOR_SIZE) db 0
    times -((stage2_image_end - stage2_start) + (bss_end - bss_start) > STAGE2_END - STAGE2_START) db 0
