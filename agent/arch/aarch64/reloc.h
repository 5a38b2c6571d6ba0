/*
 * Relocation types that hold a function's address in a GOT slot on aarch64,
 * and how relocation info splits into symbol and type.
 */
#ifndef AGENT_ARCH_RELOC_H
#define AGENT_ARCH_RELOC_H

#include <elf.h>

#define AGENT_R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define AGENT_R_GLOB_DAT R_AARCH64_GLOB_DAT
#define AGENT_R_SYM(info) ELF64_R_SYM(info)
#define AGENT_R_TYPE(info) ELF64_R_TYPE(info)

#endif
