; placeholder, replaced by the real MBR
%include "diskformat.inc"
bits 16
org MBR_LOAD_ADDR
    jmp short start
    dd MBR_PARAM_MAGIC
    dd STAGE2_LBA
    dw 0
start:
    cli
    hlt
    times MBR_BOOTCODE_SIZE - ($ - $$) db 0
