; dma-probe.asm - stage 2's IDE bus-master DMA code (stage2/ide_dma.inc) where
; a boot cannot take it: a controller that never finishes, and the state the
; controller is left in.
;
; A boot shows that DMA reads the payload and that a failed read falls back to
; INT 13h (blkdebug), but QEMU's drive always completes or fails a command: the
; bounded wait never runs out. This probe takes stage 2's place behind the MBR
; on QEMU's pc machine (PIIX3 IDE at 00:01.1, the disk its primary master) and
; runs stage 2's own routines, with stage 2's console, disk and DMA code:
;   1. dma_init chooses DMA for the boot drive, at PCI 00:01.1, primary master;
;   2. the PCI bus-master bit is on (SeaBIOS leaves it off);
;   3. dma_read of PROBE_SECTORS across two 64 KiB boundaries (prd_build's
;      16-bit code) reads what INT 13h reads;
;   4. a READ DMA EXT whose bus master is never started: dma_wait gives up after
;      DMA_TIMEOUT_TICKS (measured on the BIOS clock), the drive still waiting;
;   5. after the disk reset read_to_high does after a failure, dma_read works again;
;   6. dma_release: the PCI command register, the bus master's command as the
;      BIOS had them, its status bits clear;
;   7. INT 13h still reads the disk afterwards.
; It prints one line per failed check and then
;   bzboot: dma-probe: all 7 cases passed     (or: ... K of 7 cases failed)
; and halts. Real mode, DS = ES = 0; stage 2's layout (stage2/layout.inc).

%include "layout.inc"
%include "entry.inc"

bits 16
%ifidn __OUTPUT_FORMAT__, bin
org STAGE2_START
%endif

PROBE_SECTORS       equ 136         ; 68 KiB: from PROBE_DMA three PRD regions ...
PROBE_DMA           equ 0x4FF00     ; ... 256 bytes, 64 KiB, 3840 bytes: 0x50000, 0x60000 crossed
PROBE_BIOS          equ 0x62000     ; the same sectors through INT 13h
PROBE_TIMEOUT_SECTORS equ 8
PIIX_IDE_ADDRESS    equ PCI_CONFIG_ENABLE | (1 << PCI_DEVICE_SHIFT) | (1 << PCI_FUNCTION_SHIFT)  ; 00:01.1
TIMEOUT_SLACK_TICKS equ BDA_TICKS_PER_SECOND  ; the wait may end a little late, never early
CASES               equ 7
%if PROBE_DMA + PROBE_SECTORS * SECTOR_SIZE > PROBE_BIOS || PROBE_BIOS + PROBE_SECTORS * SECTOR_SIZE > LOW_MEMORY_MIN
%error "dma-probe: its buffers overlap or reach the EBDA"
%endif
%if PROBE_DMA < PT_START
%error "dma-probe: its buffers overlap stage 2's regions"
%endif

section .bss nobits
bss_start:
alignb 4
failed_cases:       resw 1
case_number:        resw 1
found_command:      resw 1          ; the PIIX3 IDE's PCI command register before dma_init
found_bm_command:   resb 1
alignb 4
ticks_before:       resd 1

section .text
probe_start:
    jmp near main                   ; the MBR checks the magic at offset 4
    db 0
    dd S2_PARAM_MAGIC
payload_lba:        dd 0            ; disk.inc's read_to_high adds it: sectors count from 0
    dw 0
s2_flags:           dw 0            ; stage 2's flags: none

main:
    STAGE2_ENTRY_STATE
    mov [boot_drive], dl
    mov byte [last_char], 10
    call serial_init
    mov eax, PIIX_IDE_ADDRESS | PCI_COMMAND
    mov dx, PCI_CONFIG_ADDRESS
    out dx, eax
    mov dx, PCI_CONFIG_DATA
    in ax, dx
    mov [found_command], ax

    ; 1. dma_init finds the drive.
    call next_case
    call disk_init
    jc .no_dma
    call dma_init
    cmp byte [use_dma], 1
    jne .no_dma
    cmp dword [dma_pci_address], PIIX_IDE_ADDRESS
    jne .no_dma
    cmp word [dma_channel], 0       ; channel 0 and device 0: primary master
    je .found
.no_dma:
    mov si, msg_no_dma
    call case_failed
    jmp summary                     ; nothing else can run
.found:
    call report_disk
    mov dx, [dma_bm_base]
    in al, dx
    mov [found_bm_command], al      ; as dma_init left it: stage 2 has not started it

    ; 2. The bus-master bit is on now, and was not before (SeaBIOS without DMA).
    call next_case
    mov bl, PCI_COMMAND
    call pci_read
    test al, PCI_COMMAND_MASTER
    jz .master_off
    test byte [found_command], PCI_COMMAND_MASTER
    jz .read
.master_off:
    mov si, msg_master_bit
    call case_failed

    ; 3. DMA reads what INT 13h reads.
.read:
    call next_case
    xor eax, eax
    mov cx, PROBE_SECTORS
    mov edi, PROBE_DMA
    call dma_read
    jc .read_failed
    call compare_with_bios
    jnc .timeout
    mov si, msg_differs
    call case_failed
    jmp .timeout
.read_failed:
    mov si, msg_read_failed
    call case_failed

    ; 4. A bus master that never starts: the wait gives up in DMA_TIMEOUT_TICKS.
.timeout:
    call next_case
    call ata_select
    call bm_stop
    mov dx, [dma_bm_base]
    add dx, BM_PRD_TABLE
    mov eax, PRD_START
    out dx, eax
    xor eax, eax
    mov cx, PROBE_TIMEOUT_SECTORS
    call ata_read_dma_ext           ; ... and no BM_CMD_START
    mov byte [dma_timed_out], 0
    mov eax, [BDA_TICKS]
    mov [ticks_before], eax
    call dma_wait
    mov eax, [BDA_TICKS]
    sub eax, [ticks_before]
    push eax
    call bm_stop
    call ata_end_command            ; (clobber AL)
    pop eax
    cmp byte [dma_timed_out], 1
    jne .no_timeout
    cmp eax, DMA_TIMEOUT_TICKS
    jb .no_timeout
    cmp eax, DMA_TIMEOUT_TICKS + TIMEOUT_SLACK_TICKS
    ja .no_timeout
    push eax
    mov si, msg_probe
    call say                        ; (clobber AL)
    mov si, msg_timed_out
    call puts
    pop eax
    call print_dec32
    mov si, msg_ticks
    call puts
    call newline
    jmp .recover
.no_timeout:
    mov si, msg_no_timeout
    call case_failed
    call print_dec32                ; the ticks it waited
    call newline

    ; 5. After the reset that follows a failed DMA read, DMA works again.
.recover:
    call next_case
    call disk_reset
    xor eax, eax
    mov cx, PROBE_SECTORS
    mov edi, PROBE_DMA
    push edi                        ; the old contents must not pass for new ones
    push es
    push word PROBE_DMA >> 4
    pop es
    xor di, di
    mov cx, SECTOR_SIZE / 4
    xor eax, eax
    rep stosd
    pop es
    pop edi
    mov cx, PROBE_SECTORS
    call dma_read
    jc .not_recovered
    call compare_with_bios
    jnc .release
.not_recovered:
    mov si, msg_not_recovered
    call case_failed

    ; 6. dma_release: the controller as the BIOS had it.
.release:
    call next_case
    call dma_release
    mov bl, PCI_COMMAND
    call pci_read
    cmp ax, [found_command]
    jne .not_released
    mov dx, [dma_bm_base]
    in al, dx
    cmp al, [found_bm_command]
    jne .not_released
    add dx, BM_STATUS
    in al, dx
    test al, BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_IRQ
    jz .bios_after
.not_released:
    mov si, msg_not_released
    call case_failed

    ; 7. INT 13h reads the disk after the release.
.bios_after:
    call next_case
    call compare_with_bios
    jnc summary
    mov si, msg_bios_after
    call case_failed

summary:
    mov si, msg_probe
    call say
    cmp word [failed_cases], 0
    jne .failed
    mov si, msg_all
    call puts
    mov eax, CASES
    call print_dec32
    mov si, msg_passed
    call puts
    jmp .halt
.failed:
    movzx eax, word [failed_cases]
    call print_dec32
    mov si, msg_of
    call puts
    mov eax, CASES
    call print_dec32
    mov si, msg_cases_failed
    call puts
.halt:
    call newline
    call console_flush
    cli
    hlt
    jmp .halt

; next_case: the next case's number.
; In: nothing   Out: case_number + 1
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = 0
next_case:
    inc word [case_number]
    ret

; case_failed: "bzboot: dma-probe: FAIL case N: " + the message at SI (its own
;   line, unless the caller adds to it), and count the case.
; In: SI = message   Out: failed_cases + 1
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = 0
case_failed:
    pushad
    inc word [failed_cases]
    push si
    mov si, msg_probe
    call say
    mov si, msg_case
    call puts
    movzx eax, word [case_number]
    call print_dec32
    mov si, msg_colon
    call puts
    pop si
    call puts
    popad
    cmp si, msg_no_timeout
    je .more                        ; the caller adds the ticks
    call newline
.more:
    ret

; compare_with_bios: PROBE_SECTORS at LBA 0 through INT 13h to PROBE_BIOS, and
;   the same bytes at PROBE_DMA? A sector at a time, through segments.
; In: nothing   Out: CF set when they differ
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = ES = 0, DF clear
compare_with_bios:
    pushad
    push ds
    push es
    xor eax, eax
    mov bx, PROBE_BIOS >> 4
    mov dx, PROBE_DMA >> 4
    mov bp, PROBE_SECTORS
.sector:
    mov es, bx
    mov cx, 1
    call read_sectors               ; ES:0000 (halts on a read error: it says so)
    mov ds, dx
    xor si, si
    xor di, di
    mov cx, SECTOR_SIZE / 4
    repe cmpsd
    push word 0
    pop ds
    jne .differs
    inc eax
    add bx, PARAGRAPHS_PER_SECTOR
    add dx, PARAGRAPHS_PER_SECTOR
    dec bp
    jnz .sector
    pop es
    pop ds
    popad
    clc
    ret
.differs:
    pop es
    pop ds
    popad
    stc
    ret

%include "console.inc"
%include "disk.inc"
%include "ide_dma.inc"
%include "highmem.inc"

msg_probe:          db "dma-probe: ", 0
msg_case:           db "FAIL case ", 0
msg_colon:          db ": ", 0
msg_all:            db "all ", 0
msg_passed:         db " cases passed", 0
msg_of:             db " of ", 0
msg_cases_failed:   db " cases failed", 0
msg_no_dma:         db "dma_init did not choose DMA for the primary master at PCI 00:01.1", 0
msg_master_bit:     db "the PCI bus-master bit is not on (or was on before)", 0
msg_read_failed:    db "dma_read failed", 0
msg_differs:        db "DMA read other bytes than INT 13h", 0
msg_no_timeout:     db "dma_wait did not time out after DMA_TIMEOUT_TICKS; ticks: ", 0
msg_timed_out:      db "a bus master never started: dma_wait gave up after ", 0
msg_ticks:          db " ticks", 0
msg_not_recovered:  db "no DMA read after the reset", 0
msg_not_released:   db "dma_release left the PCI command, bus-master command or status changed", 0
msg_bios_after:     db "INT 13h reads other bytes after dma_release", 0

image_end:
    align SECTOR_SIZE, db 0

section .bss
alignb 4
bss_end:
