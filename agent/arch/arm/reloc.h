/*
 * Relocation types that hold a function's address in a GOT slot on arm,
 * and how relocation info splits into symbol and type.
 */
#ifndef AGENT_ARCH_RELOC_H
#define AGENT_ARCH_RELOC_H

#include <elf.h>

#define AGENT_R_JUMP_SLOT R_ARM_JUMP_SLOT
#define AGENT_R_GLOB_DAT R_ARM_GLOB_DAT
#define AGENT_R_SYM(info) ELF32_R_SYM(info)
#define AGENT_R_TYPE(info) ELF32_R_TYPE(info)

#endif
