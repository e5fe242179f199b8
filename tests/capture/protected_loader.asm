; protected_loader.asm - a boot sector that enters a "kernel" through the
; 32-bit entry: protected mode, flat __BOOT_CS/__BOOT_DS (0x10/0x18), EIP at
; 0x100000, ESI at a zeroed boot_params with "HdrS" at +0x202 and code32_start
; (+0x214) = 0x100000, where the kernel is (boot.rst's 32-bit protocol copies the
; setup header into boot_params, and capture takes a 32-bit stop into a kernel
; that is not the --kernel file only at code32_start),
; EBP=EDI=EBX=0.
; The kernel is two instructions (hlt; jmp back). It proves that capture
; stops at, recognises and dumps a 32-bit hand-off.
bits 16
org 0x7c00

%include "bootproto.inc"        ; BOOT_CS, BOOT_DS, HDR_HEADER, HDR_CODE32_START, HDRS_MAGIC, BP_SIZE

BOOT_PARAMS  equ 0x20000
BP_DWORDS    equ BP_SIZE / 4
ENTRY32      equ BZIMAGE_LOAD_ADDR
KERNEL_CODE  equ 0xfdebf4      ; f4 = hlt, eb fd = jmp back to the hlt
STACK_TOP    equ 0x7c00
A20_FAST     equ 0x92          ; system control port A: bit 1 = A20
CR0_PE       equ 1

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, STACK_TOP
    in al, A20_FAST             ; A20 on: 0x100000 is not 0x0
    or al, 2
    and al, 0xfe                ; bit 0 would reset the machine
    out A20_FAST, al
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp BOOT_CS:protected

bits 32
protected:
    mov ax, BOOT_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP
    mov edi, BOOT_PARAMS        ; boot_params: zeroed, then the header magic
    mov ecx, BP_DWORDS
    xor eax, eax
    rep stosd
    mov dword [BOOT_PARAMS + HDR_HEADER], HDRS_MAGIC
    mov dword [BOOT_PARAMS + HDR_CODE32_START], ENTRY32
    mov dword [ENTRY32], KERNEL_CODE
    mov esi, BOOT_PARAMS
    xor ebp, ebp
    xor edi, edi
    xor ebx, ebx
    jmp BOOT_CS:ENTRY32

align 8
gdt:
    times BOOT_CS db 0          ; the null descriptor and an unused one, up to __BOOT_CS
    dq 0x00cf9a000000ffff       ; BOOT_CS: 4 GiB flat code, 32-bit
    times BOOT_DS - BOOT_CS - 8 db 0
    dq 0x00cf92000000ffff       ; BOOT_DS: 4 GiB flat data
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt

times 510 - ($ - $$) db 0
dw 0xaa55
