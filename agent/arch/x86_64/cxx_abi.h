/*
 * How the C++ ABI spells size_t in mangled names on x86_64 (LP64: unsigned long):
 * 'm', as in _Znwm (operator new(size_t)) and _ZdlPvm (sized delete), the
 * names of the operator new/delete family the agent hooks (agent/hooks_cxx.c).
 */
#ifndef AGENT_ARCH_CXX_ABI_H
#define AGENT_ARCH_CXX_ABI_H

#define AGENT_CXX_SIZE "m"
#define AGENT_CXX_SIZE_CHAR 'm'

#endif
