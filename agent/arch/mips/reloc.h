/*
 * Relocation types that hold a function's address in a GOT slot on MIPS,
 * and how relocation info splits into symbol and type. Only non-PIC
 * executables built with -mplt have JUMP_SLOTs; MIPS has no GLOB_DAT: the
 * global GOT is filled by the loader from DT_MIPS_GOTSYM (agent/got.c).
 */
#ifndef AGENT_ARCH_RELOC_H
#define AGENT_ARCH_RELOC_H

#include <elf.h>

#define AGENT_R_JUMP_SLOT R_MIPS_JUMP_SLOT
/* No such type: a value no relocation's type (one byte) has. */
#define AGENT_R_GLOB_DAT 0x100
#if _MIPS_SIM == _ABIO32
#define AGENT_R_SYM(info) ELF32_R_SYM(info)
#define AGENT_R_TYPE(info) ELF32_R_TYPE(info)
#else
/*
 * n64's r_info, read as a little-endian word, is r_sym (32 bits), r_ssym,
 * type3, type2 and type (a byte each): <elf.h>'s ELF64_R_* do not fit it.
 * The first type is the one a GOT slot's relocation carries.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "big-endian mips64 is not supported"
#endif
#define AGENT_R_SYM(info) ((uint64_t)(info) & 0xffffffffu)
#define AGENT_R_TYPE(info) ((uint64_t)(info) >> 56)
#endif

#endif
