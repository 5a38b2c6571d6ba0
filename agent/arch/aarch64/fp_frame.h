/*
 * Frame-record layout for the frame-pointer walk on aarch64: x29 points at
 * a {previous x29, x30} pair (AAPCS64 frame record).
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#define AGENT_FP_SUPPORTED 1
#define AGENT_FP_NEXT 0
#define AGENT_FP_RET 1
#define AGENT_FP_ALIGN 16

#endif
