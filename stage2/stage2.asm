; placeholder, replaced by the real stage 2
%include "diskformat.inc"
bits 16
org STAGE2_LOAD_ADDR
    jmp near start
    db 0
    dd S2_PARAM_MAGIC
    dd 0
    dw 0
start:
    cli
    hlt
    align 512, db 0
