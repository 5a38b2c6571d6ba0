/*
 * The common frame record, for the architectures that have one (x86_64,
 * aarch64; included by their fp_frame.h): the frame pointer points at the
 * caller's saved frame pointer, and the return address is the next word.
 * Each architecture adds how aligned its frame pointers are.
 */
#ifndef AGENT_ARCH_FP_RECORD_H
#define AGENT_ARCH_FP_RECORD_H

#define AGENT_FP_SUPPORTED 1
#define AGENT_FP_WHY_NOT ((const char *)0)
/* Words from the frame pointer to the caller's frame pointer and to the return address. */
#define AGENT_FP_NEXT 0
#define AGENT_FP_RET 1

#endif
