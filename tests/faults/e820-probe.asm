; e820-probe.asm - stage 2's memory-map code (stage2/memory.inc) on crafted maps.
;
; QEMU's BIOS only ever reports types 1 and 2, so the rule "unknown E820 types
; count as reserved" cannot be seen in a real boot. This probe takes stage 2's
; place behind the MBR (same load address, same magic), feeds maps with odd and
; unknown types through sanitize_memory_map, ram_contains and ram_total_kib, and
; prints on COM1 one line per failed check and then
;   bzboot: e820-probe: all N cases passed     (or: ... K of N cases failed)
; and halts. It has its own few output routines (COM1 only, QEMU's UART needs
; no setup), so that it depends on memory.inc alone, whose variables (mem_map,
; mem_map_count, ...) it uses as stage 2 does: they come with memory.inc's code.
; Real mode, DS = ES = 0; the same layout as stage 2 (stage2/layout.inc).

%include "layout.inc"
%include "entry.inc"

bits 16
%ifidn __OUTPUT_FORMAT__, bin
org STAGE2_START
%endif

COM1_DATA           equ COM1_BASE     ; transmit holding register
COM1_LSR            equ COM1_BASE + 5 ; line status register
LSR_THR_EMPTY       equ 0x20
MIB                 equ 0x100000
KIB_PER_MIB               equ 1024
TYPE_UNKNOWN_12     equ 12          ; not in ACPI 6 (was OEM-defined PRAM on some boards)
TYPE_UNKNOWN_20     equ 20
TYPE_UNDEFINED_0    equ 0           ; no BIOS should report it: still never RAM
TYPE_ANY_HIGH       equ 0xFFFFFFFF
EXPECT_RAM          equ 0           ; ram_contains clears CF
EXPECT_NOT_RAM      equ 1           ; ram_contains sets CF

; A map entry, as the BIOS writes it: base u64, length u64, type u32.
%macro entry 3
    dq %1
    dq %2
    dd %3
%endmacro
; A question to ram_contains: is [lo, hi) inside one RAM entry?
struc QUERY
    .lo     resd 1
    .hi     resd 1
    .expect resb 1                  ; EXPECT_RAM or EXPECT_NOT_RAM
endstruc
%macro query 3
    istruc QUERY
    at QUERY.lo,     dd %1
    at QUERY.hi,     dd %2
    at QUERY.expect, db %3
    iend
%endmacro

section .bss nobits
bss_start:                          ; the probe's variables, then memory.inc's
case_failed:        resb 1
alignb 2
case_number:        resw 1
failed_cases:       resw 1

section .text
probe_start:
    jmp near main                   ; the MBR checks the magic at offset 4
    db 0
    dd S2_PARAM_MAGIC
    dd 0
    dw 0

main:
    STAGE2_ENTRY_STATE

    mov si, cases
.case:
    cmp byte [si], 0
    je .summary
    inc word [case_number]
    call run_case                   ; SI = the next case
    jmp .case
.summary:
    mov si, msg_probe
    call puts
    cmp word [failed_cases], 0
    jne .failed
    mov si, msg_all
    call puts
    movzx eax, word [case_number]
    call print_dec32
    mov si, msg_passed
    call puts
    jmp .halt
.failed:
    movzx eax, word [failed_cases]
    call print_dec32
    mov si, msg_of
    call puts
    movzx eax, word [case_number]
    call print_dec32
    mov si, msg_cases_failed
    call puts
.halt:
    cli
    hlt
    jmp .halt

; run_case: one case through sanitize_memory_map, ram_contains and ram_total_kib.
; In: SI = case (count, entries, query count, QUERYs, total KiB)
; Out: SI past it; failed_cases + 1 when a check failed (once per case)
; Clobbers: EAX, EBX, CX, DX, DI, flags; mem_map
; Assumes: real mode, DS = ES = 0, DF clear
run_case:
    mov byte [case_failed], 0
    movzx cx, byte [si]
    mov [mem_map_count], cx
    inc si
    imul cx, cx, E820_ENTRY_SIZE
    mov di, mem_map
    rep movsb
    call sanitize_memory_map
    movzx cx, byte [si]
    inc si
.query:
    jcxz .total
    mov eax, [si + QUERY.lo]
    mov ebx, [si + QUERY.hi]
    mov dl, [si + QUERY.expect]
    call ram_contains
    setc dh
    cmp dh, dl
    je .next
    push si
    mov si, msg_bad_query
    call report_failure
    call print_hex32                ; the start of the range asked about
    call newline
    pop si
.next:
    add si, QUERY_size
    dec cx
    jmp .query
.total:
    call ram_total_kib
    cmp eax, [si]
    je .total_ok
    push si
    mov si, msg_bad_total
    call report_failure
    call print_dec32                ; the total found
    call newline
    pop si
.total_ok:
    add si, 4
    cmp byte [case_failed], 0
    je .done
    inc word [failed_cases]
.done:
    ret

; report_failure: "bzboot: e820-probe: FAIL case N: " + the message at SI, no newline.
; In: SI = message   Out: case_failed = 1
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = 0
report_failure:
    pushad
    mov byte [case_failed], 1
    push si
    mov si, msg_probe
    call puts
    mov si, msg_case
    call puts
    movzx eax, word [case_number]
    call print_dec32
    mov si, msg_colon
    call puts
    pop si
    call puts
    popad
    ret

; putc: AL to COM1 ("\n" as CR LF).
; In: AL   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode
putc:
    cmp al, 10
    jne serial_out
    push ax
    mov al, 13
    call serial_out
    pop ax
    ; fall through for the LF
; serial_out: AL to COM1 as it is.
; In: AL   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode
serial_out:
    push dx
    push ax
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THR_EMPTY
    jz .wait
    pop ax
    mov dx, COM1_DATA
    out dx, al
    pop dx
    ret

; puts: the NUL-terminated string at SI.
; In: SI   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode, DS = 0, DF clear
puts:
    push si
    push ax
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop ax
    pop si
    ret

; newline: "\n".
; In: nothing   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode
newline:
    push ax
    mov al, 10
    call putc
    pop ax
    ret

; print_dec32: EAX in decimal.
; In: EAX   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode
print_dec32:
    pushad
    mov ebx, 10
    xor cx, cx
.divide:
    xor edx, edx
    div ebx
    push dx
    inc cx
    test eax, eax
    jnz .divide
.emit:
    pop ax
    add al, '0'
    call putc
    loop .emit
    popad
    ret

; print_hex32: EAX as 0x and 8 hex digits.
; In: EAX   Out: nothing
; Clobbers: flags (preserves all registers)
; Assumes: real mode
print_hex32:
    pushad
    mov edx, eax
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
    mov cx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    call putc
    loop .digit
    popad
    ret

%include "memory.inc"

msg_probe:          db "bzboot: e820-probe: ", 0
msg_case:           db "FAIL case ", 0
msg_colon:          db ": ", 0
msg_bad_query:      db "wrong answer from ram_contains for the range at ", 0
msg_bad_total:      db "wrong usable total (KiB): ", 0
msg_all:            db "all ", 0
msg_passed:         db " cases passed", 10, 0
msg_of:             db " of ", 0
msg_cases_failed:   db " cases failed", 10, 0

cases:
    ; 1. An unknown type on its own is not RAM.
    db 2
    entry 1 * MIB, 15 * MIB, E820_TYPE_RAM
    entry 16 * MIB, 16 * MIB, TYPE_UNKNOWN_20
    db 3
    query 1 * MIB, 2 * MIB, EXPECT_RAM
    query 16 * MIB, 17 * MIB, EXPECT_NOT_RAM
    query 15 * MIB, 17 * MIB, EXPECT_NOT_RAM
    dd 15 * KIB_PER_MIB
    ; 2. An unknown type inside RAM cuts a hole in it.
    db 2
    entry 1 * MIB, 63 * MIB, E820_TYPE_RAM
    entry 8 * MIB, 1 * MIB, TYPE_UNKNOWN_12
    db 4
    query 1 * MIB, 8 * MIB, EXPECT_RAM
    query 8 * MIB, 9 * MIB, EXPECT_NOT_RAM
    query 7 * MIB, 10 * MIB, EXPECT_NOT_RAM
    query 9 * MIB, 64 * MIB, EXPECT_RAM
    dd 62 * KIB_PER_MIB
    ; 3. The same with the undefined type 0: RAM still loses.
    db 2
    entry 1 * MIB, 63 * MIB, E820_TYPE_RAM
    entry 8 * MIB, 1 * MIB, TYPE_UNDEFINED_0
    db 3
    query 8 * MIB, 9 * MIB, EXPECT_NOT_RAM
    query 1 * MIB, 8 * MIB, EXPECT_RAM
    query 9 * MIB, 64 * MIB, EXPECT_RAM
    dd 62 * KIB_PER_MIB
    ; 4. The highest type, unsorted, overlapping the start of RAM, and a
    ;    zero-length RAM entry that must not count.
    db 3
    entry 32 * MIB, 0, E820_TYPE_RAM
    entry 4 * MIB, 60 * MIB, E820_TYPE_RAM
    entry 2 * MIB, 4 * MIB, TYPE_ANY_HIGH
    db 3
    query 2 * MIB, 3 * MIB, EXPECT_NOT_RAM
    query 5 * MIB, 6 * MIB, EXPECT_NOT_RAM
    query 6 * MIB, 64 * MIB, EXPECT_RAM
    dd 58 * KIB_PER_MIB
    ; 5. ACPI, NVS and unusable (known, not RAM) next to RAM; and RAM above
    ;    4 GiB, which stage 2 never uses.
    db 5
    entry 1 * MIB, 31 * MIB, E820_TYPE_RAM
    entry 32 * MIB, 1 * MIB, E820_TYPE_ACPI
    entry 33 * MIB, 1 * MIB, E820_TYPE_NVS
    entry 34 * MIB, 1 * MIB, E820_TYPE_UNUSABLE
    entry 0x100000000, 0x100000000, E820_TYPE_RAM
    db 3
    query 1 * MIB, 32 * MIB, EXPECT_RAM
    query 32 * MIB, 33 * MIB, EXPECT_NOT_RAM
    query 34 * MIB, 35 * MIB, EXPECT_NOT_RAM
    dd 31 * KIB_PER_MIB
    db 0                            ; end of the cases

image_end:
    align SECTOR_SIZE, db 0
probe_image_end:

section .bss
alignb 4
bss_end:

; The probe against stage 2's region (layout.inc), as at the end of stage2.asm.
section .text
    times -((probe_image_end - probe_start) > STAGE2_MAX_SECTORS * SECTOR_SIZE) db 0
    times -((probe_image_end - probe_start) + (bss_end - bss_start) > STAGE2_END - STAGE2_START) db 0
