/*
 * Relocation types that hold a function's address in a GOT slot on x86_64,
 * and how relocation info splits into symbol and type.
 */
#ifndef AGENT_ARCH_RELOC_H
#define AGENT_ARCH_RELOC_H

#include <elf.h>

#define AGENT_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define AGENT_R_GLOB_DAT R_X86_64_GLOB_DAT
#define AGENT_R_SYM(info) ELF64_R_SYM(info)
#define AGENT_R_TYPE(info) ELF64_R_TYPE(info)

#endif
