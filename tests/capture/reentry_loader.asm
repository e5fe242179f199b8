; reentry_loader.asm - a boot sector that reaches linear 0x10200 twice: first
; without a kernel header there (not a hand-off: capture must resume), then
; with "HdrS" at 0x10202 (a 16-bit hand-off at X = 0x10000). It proves that
; capture checks the condition at each stop and steps over its breakpoint.
bits 16
org 0x7c00

%include "bootproto.inc"        ; SETUP_BASE, SETUP_ENTRY_OFFSET, HDR_HEADER, HDRS_MAGIC

SETUP_SEG   equ SETUP_BASE >> 4 ; X >> 4
ENTRY_SEG   equ SETUP_SEG + (SETUP_ENTRY_OFFSET >> 4)
HDR_AT_ENTRY equ HDR_HEADER - SETUP_ENTRY_OFFSET  ; the magic's offset from the entry: 2
STACK_TOP   equ 0xfe00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ax, SETUP_SEG
    mov es, ax
    mov si, stub                ; copy the stub to X+0x200
    mov di, SETUP_ENTRY_OFFSET
    mov cx, stub_end - stub
    rep movsb
    mov ds, ax
    mov ss, ax
    mov sp, STACK_TOP
    jmp ENTRY_SEG:0

stub:                           ; runs at ENTRY_SEG:0, linear 0x10200
    jmp short .check            ; 2 bytes, like a kernel's setup jump
    dd 0                        ; where the header magic goes
.check:
    cmp dword [cs:HDR_AT_ENTRY], HDRS_MAGIC
    je .halt
    mov dword [cs:HDR_AT_ENTRY], HDRS_MAGIC
    jmp ENTRY_SEG:0             ; enter again: now it is a hand-off
.halt:
    hlt
    jmp .halt
stub_end:

times 510 - ($ - $$) db 0
dw 0xaa55
