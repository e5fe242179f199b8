; mbr.asm - bzboot's master boot record: load stage 2 from the post-MBR gap.
;
; Entry (from the BIOS): real mode, loaded at linear 0x7C00 with CS:IP = 0000:7C00
;   (some BIOSes use 07C0:0000), DL = boot drive, interrupts enabled, other
;   registers undefined.
; Exit (to stage 2): CS:IP = 0000:STAGE2_LOAD_ADDR, DL = boot drive,
;   DS = ES = SS = 0, SP = MBR_LOAD_ADDR, interrupts enabled.
;
; Only bytes 0..439 are ours: the disk signature and the partition table
; that follow belong to the disk and are never written by this code.
; The installer patches the parameter block (stage 2's LBA and length, and
; the flags byte: MBR_FLAG_DEBUG_CHS, for tests only, forces the CHS reads).

%include "diskformat.inc"
%include "bios.inc"

bits 16
%ifidn __OUTPUT_FORMAT__, bin
org MBR_LOAD_ADDR
%endif

SECTOR_SIZE_BYTES   equ 512
PARAGRAPHS_PER_SECTOR equ SECTOR_SIZE_BYTES / 16

mbr_start:
    jmp short start
    ; --- parameter block, patched by bzinstall (offsets in diskformat.inc) ---
param_magic:        dd MBR_PARAM_MAGIC
stage2_lba:         dd STAGE2_LBA
stage2_sectors:     dw 0
mbr_flags:          db 0            ; MBR_FLAG_*: 0 unless bzinstall --debug-disk chs

; The labels above are where bzinstall writes (no bytes: checks at assembly time).
%if (param_magic - mbr_start) != MBR_PARAM_MAGIC_OFF || (stage2_lba - mbr_start) != MBR_PARAM_STAGE2_LBA
%error "MBR parameter block out of step with diskformat.inc"
%endif
%if (stage2_sectors - mbr_start) != MBR_PARAM_STAGE2_SECTS || (mbr_flags - mbr_start) != MBR_PARAM_FLAGS
%error "MBR parameter block out of step with diskformat.inc"
%endif

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, MBR_LOAD_ADDR          ; all of ESP: read_sector addresses [esp+n]
    jmp 0:normalized                ; some BIOSes enter at 07C0:0000: make CS = 0
normalized:
    sti
    cld
    mov [boot_drive], dl

    mov si, msg_not_installed
    cmp word [stage2_sectors], 0    ; a bare template has no stage 2 to load
    je fatal

    call detect_edd

    ; Load stage 2 one sector at a time: at most 62 sectors, so speed does
    ; not matter, and single-sector reads never cross a track or 64 KiB.
    mov eax, [stage2_lba]
    mov cx, [stage2_sectors]
    mov bx, STAGE2_LOAD_ADDR >> 4   ; destination segment, offset 0
.next_sector:
    call read_sector
    inc eax
    add bx, PARAGRAPHS_PER_SECTOR
    loop .next_sector

    mov si, msg_bad_stage2
    cmp dword [STAGE2_LOAD_ADDR + S2_PARAM_MAGIC_OFF], S2_PARAM_MAGIC
    jne fatal

    mov dl, [boot_drive]
    jmp 0:STAGE2_LOAD_ADDR

; detect_edd: use_edd = 1 when the BIOS has the INT 13h extensions for the
;   boot drive, else the CHS geometry in sectors_per_track and heads.
; In: boot_drive   Out: use_edd, or sectors_per_track and heads; no return (fatal)
;   when the BIOS reports no geometry
; Clobbers: AX, BX, CX, DX, SI, DI (and ES: AH=08h returns a floppy's parameter
;   table in ES:DI)
; Assumes: real mode, DS = ES = 0
detect_edd:
    ; Test/debug (bzinstall --debug-disk chs): take the answer "no extensions",
    ; so that the CHS path below runs on BIOSes that all have them (SeaBIOS, Bochs).
    test byte [mbr_flags], MBR_FLAG_DEBUG_CHS
    jnz .no
    mov ah, INT13_EDD_CHECK
    mov bx, EDD_CHECK_IN
    mov dl, [boot_drive]
    int 0x13
    jc .no
    cmp bx, EDD_CHECK_OUT
    jne .no
    test cx, EDD_FIXED_DISK_API
    jz .no
    mov byte [use_edd], 1
    ret
.no:
    ; CHS fallback: ask for the geometry once (AH=08h).
    mov ah, INT13_GET_PARAMS
    mov dl, [boot_drive]
    xor di, di                      ; ES:DI = 0:0 works around buggy BIOSes
    int 0x13
    mov si, msg_no_geometry
    jc fatal
    and cl, CHS_SECTOR_MASK
    jz fatal                        ; 0 sectors per track: no geometry (and a divide fault below)
    mov [sectors_per_track], cl
    movzx dx, dh                    ; DH = last head number (255 means 256 heads)
    inc dx
    mov [heads], dx
    ret

; read_sector: read the sector at LBA EAX into BX:0000, trying MBR_READ_ATTEMPTS
;   times with a disk reset in between.
; In: EAX = LBA, BX = segment, use_edd and the geometry (detect_edd)
; Out: the sector at BX:0000; no return (fatal) when every attempt fails
; Clobbers: flags only (preserves all registers)
; Assumes: real mode, DS = 0
read_sector:
    push es
    pushad
    mov bp, MBR_READ_ATTEMPTS
.attempt:
    cmp byte [use_edd], 0
    je .chs
    mov [dap + EDD_DAP.lba], eax
    mov [dap + EDD_DAP.segment], bx
    ; On an error the BIOS writes the number of sectors it did transfer (0) back
    ; into the packet (EDD 3.0, SeaBIOS does): set the count before every call,
    ; or the retry "succeeds" reading nothing and stage 2 starts half-loaded.
    mov word [dap + EDD_DAP.count], 1
    mov si, dap
    mov ah, INT13_EDD_READ
    mov dl, [boot_drive]
    int 0x13
    jnc .done
    jmp .retry
.chs:
    ; LBA -> CHS: sector = LBA mod spt + 1, head = (LBA / spt) mod heads,
    ; cylinder = LBA / spt / heads. Stage 2 sits near LBA 1, so 16 bits do.
    push eax
    xor dx, dx
    movzx di, byte [sectors_per_track]
    div di                          ; AX = LBA / spt, DX = LBA mod spt
    mov cl, dl
    inc cl                          ; sectors count from 1
    xor dx, dx
    div word [heads]                          ; AX = cylinder, DX = head
    mov ch, al
    shl ah, CHS_CYL_TO_CL_SHIFT     ; cylinder bits 8..9 into CL bits 6..7
    or cl, ah
    mov dh, dl
    mov dl, [boot_drive]
    mov es, bx
    xor bx, bx
    mov ax, INT13_READ_CHS << 8 | 1 ; AH=02h read, AL=1 sector
    int 0x13
    pop eax
    mov bx, es
    jnc .done
.retry:
    xor ah, ah                      ; AH = INT13_RESET: reset the controller, then retry
    mov dl, [boot_drive]
    int 0x13
    mov eax, [esp + PUSHAD_FRAME.eax] ; restore EAX and BX from PUSHAD's copies
    mov bx, [esp + PUSHAD_FRAME.ebx]
    dec bp
    jnz .attempt
    mov si, msg_read_error
    jmp fatal
.done:
    popad
    pop es
    ret

; fatal: print "bzboot: " and the message at SI on the screen, then halt for good.
; In: SI = message (NUL-terminated)   Out: never returns
; Assumes: real mode, DS = 0
fatal:
    push si
    mov si, msg_prefix
    call print
    pop si
    call print
.halt:
    cli
    hlt
    jmp .halt

; print: the NUL-terminated string at SI through the BIOS teletype.
; In: SI = string   Out: SI past its NUL
; Clobbers: AX, BX, SI (and BP, DI on video BIOSes that clobber them)
; Assumes: real mode, DS = 0
print:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    mov bx, 0x0007                  ; page 0, light grey
    int 0x10
    jmp print
.done:
    ret

msg_prefix:         db "bzboot: ", 0
msg_not_installed:  db "not installed", 0
msg_bad_stage2:     db "stage 2 missing", 0
msg_no_geometry:    db "no disk geometry", 0
msg_read_error:     db "disk read error", 0

dap:
    istruc EDD_DAP
    at EDD_DAP.size,    db EDD_DAP_size
    at EDD_DAP.count,   dw 1
    iend

use_edd:            db 0
boot_drive:         db 0
sectors_per_track:  db 0
heads:              dw 0

%if ($ - $$) > MBR_BOOTCODE_SIZE
%error "MBR boot code exceeds 440 bytes"
%endif
    times MBR_BOOTCODE_SIZE - ($ - $$) db 0
