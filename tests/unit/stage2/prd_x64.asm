; prd_x64.asm - stage 2's PRD table builder (stage2/prd.inc), the very source,
; assembled for x86-64 so that the unit tests (test_prd.cpp) can call it.
;
; prd.inc writes with STOSD and reads no memory, so in 64-bit mode it writes at
; [RDI] (in stage 2: ES:DI): any buffer works, no MAP_32BIT needed.
bits 64
default rel
%include "ide.inc"

section .text
global bz_prd_build

; std::size_t bz_prd_build(std::uint32_t destination, std::uint32_t bytes, void* table)
;   (System V: EDI, ESI, RDX): prd_build's table at `table`; returns the entries written.
bz_prd_build:
    push rbx                        ; prd_build clobbers EBX, callee-saved here
    mov eax, edi
    mov ecx, esi
    mov rdi, rdx
    mov r8, rdx                     ; prd_build clobbers EDX (and leaves R8 alone)
    cld                             ; prd_build assumes DF clear (the ABI says so too)
    call prd_build
    mov rax, rdi
    sub rax, r8
    shr rax, 3                      ; bytes -> entries (PRD_ENTRY_size)
    pop rbx
    ret

%if PRD_ENTRY_size != 8
%error "prd_x64.asm: PRD_ENTRY is 8 bytes"
%endif

%include "prd.inc"

section .note.GNU-stack noalloc noexec nowrite progbits
