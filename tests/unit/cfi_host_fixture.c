/*
 * The fixture of test_cfi_host: code built as a device's often is, without
 * unwind tables or frame pointers (-g -O2 -fno-asynchronous-unwind-tables
 * -fno-unwind-tables -fomit-frame-pointer, server/server.mk), so that its
 * functions' CFI is in .debug_frame only, while the start files keep
 * theirs in .eh_frame. Never run: only its tables are read. The test also
 * builds it with the cross compilers it finds (aarch64, ARM), where the
 * assembly below is left out.
 *
 * The functions give the shapes a compiler makes: a leaf, pushes and pops,
 * a frame that needs the frame pointer (alloca), a large frame, recursion.
 * On x86_64 the assembly adds the rules a compiler rarely writes, one
 * function each: the return address in another register, a CFA expression,
 * an undefined return address (an outermost frame), a signal frame,
 * remember/restore state, the frame pointer saved by an expression, as a
 * value, undefined, or far from the CFA (a slot counted from the frame's
 * bottom), a frame too large for a rule, the return address "same value".
 */
#include <string.h>

#define KEEP __attribute__((noinline, used))

volatile int sink;

KEEP int fx_leaf(int x)
{
	return x * 3 + sink;
}

KEEP int fx_sum(const int *a, int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += fx_leaf(a[i]);
	return s;
}

KEEP int fx_buffer(int n)
{
	char buf[300];
	volatile int k = 0;

	memset(buf, n, sizeof(buf));
	for (int i = 0; i < n; i++)
		k += buf[i % 300] + fx_sum((const int *)&sink, 1);
	return k;
}

KEEP int fx_alloca(int n)
{
	char *p = __builtin_alloca(n);

	memset(p, 1, n);
	return fx_sum((const int *)p, n / 4) + p[n - 1];
}

KEEP int fx_large(int n)
{
	int big[20000];

	for (int i = 0; i < 20000; i++)
		big[i] = i ^ n;
	return fx_sum(big, n % 20000) + fx_buffer(big[n % 20000]);
}

KEEP int fx_recurse(int n)
{
	int a[8];

	for (int i = 0; i < 8; i++)
		a[i] = n + i;
	return n <= 0 ? fx_sum(a, 8) : fx_recurse(n - 1) + a[n % 8];
}

#if defined(__x86_64__)
/* DWARF x86_64: rbp 6, rsp 7, the return address column 16 (rip). */
__asm__(".text\n"
	/* The return address moved to another register. */
	".globl fx_ra_in_rax\n.type fx_ra_in_rax,@function\nfx_ra_in_rax:\n.cfi_startproc\n"
	"\tpopq %rax\n.cfi_adjust_cfa_offset -8\n.cfi_register %rip, %rax\n\tjmp *%rax\n.cfi_endproc\n"
	/* A CFA expression: DW_CFA_def_cfa_expression { DW_OP_breg7 16 }. */
	".globl fx_cfa_expr\n.type fx_cfa_expr,@function\nfx_cfa_expr:\n.cfi_startproc\n"
	"\tsubq $8, %rsp\n.cfi_escape 0x0f, 0x02, 0x77, 0x10\n\taddq $8, %rsp\n.cfi_def_cfa %rsp, 8\n\tret\n"
	".cfi_endproc\n"
	/* The outermost frame: the return address undefined. */
	".globl fx_outermost\n.type fx_outermost,@function\nfx_outermost:\n.cfi_startproc\n.cfi_undefined %rip\n"
	"\txorl %ebp, %ebp\n\thlt\n.cfi_endproc\n"
	/* A signal frame. */
	".globl fx_signal\n.type fx_signal,@function\nfx_signal:\n.cfi_startproc\n.cfi_signal_frame\n"
	"\tnop\n\tret\n.cfi_endproc\n"
	/* Remember and restore state around an early return. */
	".globl fx_remember\n.type fx_remember,@function\nfx_remember:\n.cfi_startproc\n"
	"\tpushq %rbp\n.cfi_adjust_cfa_offset 8\n.cfi_offset %rbp, -16\n\ttestl %edi, %edi\n\tje 1f\n"
	".cfi_remember_state\n\tpopq %rbp\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbp\n\tret\n"
	".cfi_restore_state\n1:\tpushq %rbx\n.cfi_adjust_cfa_offset 8\n\tpopq %rbx\n.cfi_adjust_cfa_offset -8\n"
	"\tpopq %rbp\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbp\n\tret\n.cfi_endproc\n"
	/* The frame pointer saved by an expression: DW_CFA_expression rbp { DW_OP_breg7 0 }. */
	".globl fx_fp_expr\n.type fx_fp_expr,@function\nfx_fp_expr:\n.cfi_startproc\n"
	"\tpushq %rbp\n.cfi_adjust_cfa_offset 8\n.cfi_escape 0x10, 0x06, 0x02, 0x77, 0x00\n"
	"\tpopq %rbp\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbp\n\tret\n.cfi_endproc\n"
	/* The frame pointer's value at the CFA - 16 (val_offset): not a saved slot. */
	".globl fx_fp_val\n.type fx_fp_val,@function\nfx_fp_val:\n.cfi_startproc\n"
	"\tpushq %rbp\n.cfi_adjust_cfa_offset 8\n.cfi_val_offset %rbp, -16\n"
	"\tpopq %rbp\n.cfi_adjust_cfa_offset -8\n.cfi_restore %rbp\n\tret\n.cfi_endproc\n"
	/* The frame pointer undefined (readelf cannot tell this from "never set": checked apart). */
	".globl fx_fp_undef\n.type fx_fp_undef,@function\nfx_fp_undef:\n.cfi_startproc\n"
	"\tnop\n.cfi_undefined %rbp\n\tnop\n\tret\n.cfi_endproc\n"
	/* A 2 KiB frame with the frame pointer saved at its bottom: the slot counts from there. */
	".globl fx_fp_bottom\n.type fx_fp_bottom,@function\nfx_fp_bottom:\n.cfi_startproc\n"
	"\tsubq $2040, %rsp\n.cfi_adjust_cfa_offset 2040\n\tmovq %rbp, (%rsp)\n.cfi_offset %rbp, -2048\n"
	"\tmovq (%rsp), %rbp\n.cfi_restore %rbp\n\taddq $2040, %rsp\n.cfi_adjust_cfa_offset -2040\n\tret\n"
	".cfi_endproc\n"
	/* A frame larger than a rule's CFA offset (0x3fff words). */
	".globl fx_huge\n.type fx_huge,@function\nfx_huge:\n.cfi_startproc\n"
	"\tsubq $0x30000, %rsp\n.cfi_adjust_cfa_offset 0x30000\n\taddq $0x30000, %rsp\n"
	".cfi_adjust_cfa_offset -0x30000\n\tret\n.cfi_endproc\n"
	/* The return address "same value": never so on x86_64 (a call pushes it). */
	".globl fx_ra_same\n.type fx_ra_same,@function\nfx_ra_same:\n.cfi_startproc\n"
	"\tnop\n.cfi_same_value %rip\n\tnop\n\tret\n.cfi_endproc\n");
#endif

int main(int argc, char **argv)
{
	(void)argv;
	return fx_buffer(argc) + fx_alloca(argc * 16) + fx_large(argc) + fx_recurse(argc);
}
