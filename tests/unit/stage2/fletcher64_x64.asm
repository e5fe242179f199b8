; fletcher64_x64.asm - stage 2's checksum loop (stage2/fletcher64.inc, the very
; macros sum_flat in stage2/checksum.inc runs in 16-bit protected mode),
; assembled for x86-64 so that the unit tests can run it against the
; installer's C++ (test_fletcher64_stage2.cpp).
;
; The macros address memory as [ESI]: 32-bit addresses, zero-extended in 64-bit
; mode. The caller's buffer must lie below 4 GiB (mmap MAP_32BIT).

bits 64
default rel
%include "fletcher64.inc"

section .text

; void bz_fletcher64_add(uint32_t sums[2], uint32_t address, uint32_t bytes)
;   (System V: RDI = sums as FLETCHER64 {a, b}, ESI = address, EDX = bytes):
;   what stage 2's sum_flat does between flat16_enter and flat16_leave.
; In: sums = the running state; bytes a multiple of FLETCHER64_WORD except at
;   a file's end   Out: sums updated
; Clobbers: RAX, RCX, RDX, RSI, R8, R9, flags (RBX preserved, as the ABI wants)
global bz_fletcher64_add
bz_fletcher64_add:
    push rbx
    mov r8, rdi
    mov ecx, edx
    mov eax, [r8 + FLETCHER64.a]
    mov edx, [r8 + FLETCHER64.b]
    mov r9d, ecx                    ; sum_flat: push ecx
    shr ecx, FLETCHER64_WORD_SHIFT
    fletcher64_words
    mov ecx, r9d                    ; sum_flat: pop ecx
    and ecx, FLETCHER64_WORD - 1
    fletcher64_tail
    mov [r8 + FLETCHER64.a], eax
    mov [r8 + FLETCHER64.b], edx
    pop rbx
    ret

section .note.GNU-stack noalloc noexec nowrite progbits
