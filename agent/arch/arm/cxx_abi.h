/*
 * How the C++ ABI spells size_t in mangled names on 32-bit ARM (AAPCS: unsigned int):
 * 'j', as in _Znwj (operator new(size_t)) and _ZdlPvj (sized delete), the
 * names of the operator new/delete family the agent hooks (agent/hooks_cxx.c).
 */
#ifndef AGENT_ARCH_CXX_ABI_H
#define AGENT_ARCH_CXX_ABI_H

#define AGENT_CXX_SIZE "j"
#define AGENT_CXX_SIZE_CHAR 'j'

#endif
