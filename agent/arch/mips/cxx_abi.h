/*
 * How the C++ ABI spells size_t in mangled names on MIPS: 'j' (unsigned
 * int) on o32, 'm' (unsigned long) on n64, as in _Znwj / _Znwm, the names
 * of the operator new/delete family the agent hooks (agent/hooks_cxx.c).
 */
#ifndef AGENT_ARCH_CXX_ABI_H
#define AGENT_ARCH_CXX_ABI_H

#if _MIPS_SIM == _ABIO32
#define AGENT_CXX_SIZE "j"
#define AGENT_CXX_SIZE_CHAR 'j'
#else
#define AGENT_CXX_SIZE "m"
#define AGENT_CXX_SIZE_CHAR 'm'
#endif

#endif
