# memtrace.gdb: gdb commands that read memtrace's agent (libmemtrace-agent.so)
# in a live process or a core, with no call into the agent and no debug info
# for it: a stripped agent works (its dynamic symbols are enough).
#
#   source /usr/local/share/memtrace/memtrace.gdb     (or gdb -x FILE)
#
#   memtrace-status           the heap summary, as memtrace's `status`
#   memtrace-report [N]       the N contexts (default 10, 0 = all) with the most
#                             live bytes, as memtrace's `report`: same ids, order
#                             and figures; frames symbolized by gdb
#   memtrace-blocks ID        every live block of context ID: address, size, seq
#   memtrace-whoalloc ADDR    the live block holding ADDR (interior pointers too),
#                             its context and callstack
#   memtrace-break ID         live process: stop when context ID next allocates
#   set $memtrace_lines = 0   frames without the `info line` of each call (faster)
#
# Plain gdb CLI only (no Python): the script runs in any gdb 10 or later, with
# or without Python. It finds the tables through the agent's exported
# `memtrace_gdb` anchor (its layout: common/anchor.h; docs/architecture.md,
# "For debuggers"): every field there is 8 bytes, the tables themselves use
# the target's pointer size, which the anchor gives, so 32-bit targets read
# the same way.
#
# Cost: gdb interprets every line of this script, some 30 us each on a 2-core
# x86_64. memtrace-report reads every context once (about 10 lines each) and
# keeps the best N in a heap: O(C + L log N) for C contexts of which L are
# live; then it prints N contexts, about 0.3 ms a frame. With 1000
# live contexts of 26 frames: 1 s for the top 10, 12 s for all of them.
# memtrace-blocks and memtrace-whoalloc read every slot of the block table
# (1.25 to 1.7 per live block): about 3 s per 10000 live blocks.
#
# Internal convenience variables are named $mt_*; internal commands memtrace--*.

if $_isvoid($memtrace_lines)
  set $memtrace_lines = 1
end

# ---------------------------------------------------------------- the anchor

# Read the anchor into $mt_* variables; $mt_ok is 1 when it is usable.
# Every number here (the magic, the version, each index into $mt_A, $mt_B,
# $mt_C and $mt_M) comes from common/anchor.h, which gdb cannot include:
# $mt_A[K] is word K of enum anchor_word, $mt_B[K] of anchor_blocks_word,
# $mt_C[K] of anchor_contexts_word, $mt_M[K] of anchor_memory_word.
define memtrace--anchor
  set $mt_ok = 0
  set $mt_A = (unsigned long long *) &memtrace_gdb
  if $mt_A[0] != 0x6d656d7472616365
    printf "memtrace: memtrace_gdb at %p is not memtrace's anchor (magic 0x%llx)\n", $mt_A, $mt_A[0]
  else
    if $mt_A[1] != 1
      printf "memtrace: this script reads anchor version 1, the agent has version %llu\n", $mt_A[1]
    else
      set $mt_ps = $mt_A[2]
      set $mt_B = (unsigned long long *) $mt_A[4]
      set $mt_C = (unsigned long long *) $mt_A[5]
      set $mt_M = (unsigned long long *) $mt_A[6]
      set $mt_rec = (int *) $mt_A[7]
      set $mt_fail = (char *) $mt_A[8]
      set $mt_brk = (unsigned int *) $mt_A[9]
      # blocks
      set $mt_shards = (char *) $mt_B[0]
      set $mt_nshards = $mt_B[1]
      set $mt_shstride = $mt_B[2]
      set $mt_o_cap = $mt_B[3]
      set $mt_o_count = $mt_B[4]
      set $mt_o_slots = $mt_B[5]
      set $mt_estride = $mt_B[6]
      set $mt_o_eptr = $mt_B[7]
      set $mt_o_eseq = $mt_B[8]
      set $mt_o_ecs = $mt_B[9]
      set $mt_sbits = $mt_B[10]
      set $mt_smask = (1ULL << $mt_sbits) - 1
      # contexts
      set $mt_byid = (char *) $mt_C[0]
      set $mt_cnt = (unsigned int *) $mt_C[1]
      set $mt_cbits = $mt_C[2]
      set $mt_cmask = (1ULL << $mt_cbits) - 1
      set $mt_o_id = $mt_C[4]
      set $mt_o_depth = $mt_C[5]
      set $mt_o_trunc = $mt_C[6]
      set $mt_o_peak = $mt_C[7]
      set $mt_o_slot = $mt_C[8]
      set $mt_ss = $mt_C[9]
      set $mt_nslots = $mt_C[10]
      set $mt_o_lbl = $mt_C[11]
      set $mt_o_lby = $mt_C[12]
      set $mt_o_tal = $mt_C[13]
      set $mt_o_tby = $mt_C[14]
      set $mt_o_pcs = $mt_C[15]
      if $mt_ps != 4 && $mt_ps != 8
        printf "memtrace: the anchor says pointers are %llu bytes\n", $mt_ps
      else
        set $mt_ok = 1
      end
    end
  end
end
document memtrace--anchor
Internal: find memtrace's agent tables through the memtrace_gdb anchor.
end

# $mt_c := context $arg0 (a char *), or 0 when there is none.
define memtrace--ctx
  set $mt_c = 0
  if $arg0 >= 1 && $arg0 <= *$mt_cnt
    set $mt_x = $mt_byid + ($arg0 >> $mt_cbits) * $mt_ps
    set $mt_x = $mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x
    if $mt_x
      set $mt_x = (char *) $mt_x + ($arg0 & $mt_cmask) * $mt_ps
      set $mt_c = (char *) ($mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x)
    end
  end
end
document memtrace--ctx
Internal: $mt_c := the address of context ID, or 0.
end

# $mt_v := the sum over the counter slots of context $mt_c of the int64 at offset $arg0.
define memtrace--sum
  set $mt_s = $mt_c + $mt_o_slot + $arg0
  if $mt_nslots == 4
    set $mt_v = *(long long *) $mt_s + *(long long *) ($mt_s + $mt_ss) + *(long long *) ($mt_s + 2 * $mt_ss) + *(long long *) ($mt_s + 3 * $mt_ss)
  else
    set $mt_v = 0
    set $mt_j = 0
    while $mt_j < $mt_nslots
      set $mt_v = $mt_v + *(long long *) ($mt_s + $mt_j * $mt_ss)
      set $mt_j = $mt_j + 1
    end
  end
end
document memtrace--sum
Internal: $mt_v := a counter of context $mt_c summed over its slots.
end

# Print a size as memtrace's status does: "N bytes" below 1 KiB, else "N.N KiB" etc.
define memtrace--human
  set $mt_hv = (double) $arg0
  set $mt_hu = 0
  while $mt_hv >= 1024 && $mt_hu < 4
    set $mt_hv = $mt_hv / 1024
    set $mt_hu = $mt_hu + 1
  end
  if $mt_hu == 0
    printf "%llu bytes", (unsigned long long) $arg0
  else
    if $mt_hu == 1
      printf "%.1f KiB", $mt_hv
    end
    if $mt_hu == 2
      printf "%.1f MiB", $mt_hv
    end
    if $mt_hu == 3
      printf "%.1f GiB", $mt_hv
    end
    if $mt_hu == 4
      printf "%.1f TiB", $mt_hv
    end
  end
end
document memtrace--human
Internal: print a byte count the way memtrace's status does.
end

# Print context $mt_c (id $arg0): its figures and its frames.
define memtrace--print-ctx
  memtrace--sum $mt_o_lby
  set $mt_plby = $mt_v
  memtrace--sum $mt_o_lbl
  set $mt_plbl = $mt_v
  memtrace--sum $mt_o_tal
  set $mt_ptal = $mt_v
  memtrace--sum $mt_o_tby
  set $mt_ptby = $mt_v
  printf "\ncontext %u: %lld bytes in %lld blocks still allocated (%llu allocations, %llu bytes in total, peak %lld bytes)\n", $arg0, $mt_plby, $mt_plbl, (unsigned long long) $mt_ptal, (unsigned long long) $mt_ptby, *(long long *) ($mt_c + $mt_o_peak)
  set $mt_depth = *(unsigned short *) ($mt_c + $mt_o_depth)
  set $mt_f = 0
  while $mt_f < $mt_depth
    set $mt_x = $mt_c + $mt_o_pcs + $mt_f * $mt_ps
    set $mt_pc = $mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x
    printf "    #%-2d ", $mt_f
    output/a $mt_pc
    echo \n
    if $memtrace_lines
      # a return address: the call is the instruction before it
      printf "        "
      info line *($mt_pc - 1)
    end
    set $mt_f = $mt_f + 1
  end
  if *(unsigned char *) ($mt_c + $mt_o_trunc)
    printf "    ... deeper frames cut at the depth limit (%d)\n", $mt_depth
  end
end
document memtrace--print-ctx
Internal: print a context (its address in $mt_c, its id as argument).
end

# ---------------------------------------------------------------- status

define memtrace-status
  memtrace--anchor
  if $mt_ok
    set $mt_n = *$mt_cnt
    set $mt_tlby = 0
    set $mt_tlbl = 0
    set $mt_ttal = 0
    set $mt_ttby = 0
    set $mt_live = 0
    set $mt_id = 1
    while $mt_id <= $mt_n
      memtrace--ctx $mt_id
      if $mt_c
        memtrace--sum $mt_o_lbl
        set $mt_tlbl = $mt_tlbl + $mt_v
        if $mt_v > 0
          set $mt_live = $mt_live + 1
        end
        memtrace--sum $mt_o_lby
        set $mt_tlby = $mt_tlby + $mt_v
        memtrace--sum $mt_o_tal
        set $mt_ttal = $mt_ttal + $mt_v
        memtrace--sum $mt_o_tby
        set $mt_ttby = $mt_ttby + $mt_v
      end
      set $mt_id = $mt_id + 1
    end
    printf "in use: %lld bytes in %lld blocks\n", $mt_tlby, $mt_tlbl
    printf "total: %llu allocations, %lld frees, %llu bytes allocated\n", (unsigned long long) $mt_ttal, $mt_ttal > $mt_tlbl ? $mt_ttal - $mt_tlbl : 0, (unsigned long long) $mt_ttby
    printf "contexts: %u with live blocks, %u in all\n", $mt_live, $mt_n
    set $mt_mem = 0
    set $mt_k = 0
    set $mt_mb = (char *) $mt_M[0]
    while $mt_k < $mt_M[1]
      set $mt_x = $mt_mb + $mt_k * $mt_ps
      set $mt_mem = $mt_mem + ($mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x)
      set $mt_k = $mt_k + 1
    end
    set $mt_x = $mt_mb + $mt_M[2] * $mt_ps
    set $mt_bmem = $mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x
    printf "agent memory: %llu bytes (", $mt_mem
    memtrace--human $mt_mem
    printf "; block table "
    memtrace--human $mt_bmem
    printf ")\n"
    set $mt_x = $mt_ps == 8 ? *(unsigned long long *) $mt_fail : *(unsigned int *) $mt_fail
    if *$mt_rec
      printf "recording: yes\n"
    else
      if $mt_x
        printf "recording: no, stopped: %s\n", (char *) $mt_x
      else
        printf "recording: no\n"
      end
    end
  end
end
document memtrace-status
Heap summary of the process, as memtrace's `status` shows it.
Works on a live process and on a core.
end

# ---------------------------------------------------------------- report

# The heap holds the best contexts seen so far, worst at the top, as keys
# $mt_h_I = live bytes << 24 | (2^24 - 1 - id): a bigger key comes first in
# memtrace's report (most live bytes first, the older context first among
# equals; ids are below 2^24). Live bytes clamp at 2^40 - 1 in the key: two
# contexts holding 1 TiB or more each are ordered by id alone.

# Sift the key $mt_pk down from hole $mt_p in a heap of $mt_hn.
define memtrace--sift-down
  while 1
    set $mt_l = 2 * $mt_p + 1
    if $mt_l >= $mt_hn
      loop_break
    end
    eval "set $mt_wk = $mt_h_%d", $mt_l
    if $mt_l + 1 < $mt_hn
      eval "set $mt_rk = $mt_h_%d", $mt_l + 1
      if $mt_rk < $mt_wk
        set $mt_l = $mt_l + 1
        set $mt_wk = $mt_rk
      end
    end
    if $mt_wk < $mt_pk
      eval "set $mt_h_%d = $mt_wk", $mt_p
      set $mt_p = $mt_l
    else
      loop_break
    end
  end
  eval "set $mt_h_%d = $mt_pk", $mt_p
end
document memtrace--sift-down
Internal: heap sift-down for memtrace-report.
end

# Add the key $mt_pk to the heap of $mt_hn keys.
define memtrace--heap-push
  set $mt_p = $mt_hn
  while $mt_p > 0
    set $mt_q = ($mt_p - 1) / 2
    eval "set $mt_qk = $mt_h_%d", $mt_q
    if $mt_pk < $mt_qk
      eval "set $mt_h_%d = $mt_qk", $mt_p
      set $mt_p = $mt_q
    else
      loop_break
    end
  end
  eval "set $mt_h_%d = $mt_pk", $mt_p
  set $mt_hn = $mt_hn + 1
end
document memtrace--heap-push
Internal: heap insertion for memtrace-report.
end

define memtrace-report
  memtrace--anchor
  if $mt_ok
    if $argc > 0
      set $mt_want = $arg0
    else
      set $mt_want = 10
    end
    set $mt_n = *$mt_cnt
    set $mt_hn = 0
    set $mt_live = 0
    set $mt_tlby = 0
    set $mt_tlbl = 0
    set $mt_id = 1
    while $mt_id <= $mt_n
      memtrace--ctx $mt_id
      if $mt_c
        memtrace--sum $mt_o_lbl
        if $mt_v > 0
          set $mt_live = $mt_live + 1
          set $mt_tlbl = $mt_tlbl + $mt_v
          memtrace--sum $mt_o_lby
          set $mt_tlby = $mt_tlby + $mt_v
          set $mt_pk = ((unsigned long long) ($mt_v < 0xffffffffff ? $mt_v : 0xffffffffff) << 24) | (0xffffff - $mt_id)
          if $mt_want <= 0 || $mt_hn < $mt_want
            memtrace--heap-push
          else
            # full: the newcomer replaces the worst if it is better
            if $mt_pk > $mt_h_0
              set $mt_p = 0
              memtrace--sift-down
            end
          end
        end
      end
      set $mt_id = $mt_id + 1
    end
    # heap sort: the worst goes to the end, so 0.. is best first
    set $mt_shown = $mt_hn
    while $mt_hn > 1
      set $mt_hn = $mt_hn - 1
      eval "set $mt_pk = $mt_h_%d", $mt_hn
      eval "set $mt_h_%d = $mt_h_0", $mt_hn
      set $mt_p = 0
      memtrace--sift-down
    end
    printf "memtrace-report: %d of %d contexts with live blocks (%lld bytes in %lld blocks), %u contexts in all\n", $mt_shown, $mt_live, $mt_tlby, $mt_tlbl, $mt_n
    if !*$mt_rec
      printf "memtrace-report: the agent is not recording: the figures stopped changing when it stopped\n"
    end
    set $mt_r = 0
    while $mt_r < $mt_shown
      eval "set $mt_rid = 0xffffff - ($mt_h_%d & 0xffffff)", $mt_r
      memtrace--ctx $mt_rid
      memtrace--print-ctx $mt_rid
      set $mt_r = $mt_r + 1
    end
    if $mt_shown == 0
      printf "\nno live blocks: nothing leaked\n"
    end
  end
end
document memtrace-report
memtrace-report [N]: the N contexts (default 10, 0 = all) with the most live
bytes, most first (then the oldest context first), as memtrace's `report`:
id, live bytes and blocks, allocations in total, and the callstack, each
frame a return address symbolized by gdb (the `info line` of the call below
it unless $memtrace_lines is 0). Works on a live process and on a core.
end

# ---------------------------------------------------------------- blocks

# What memtrace--walk-blocks does with each live block ($mt_bp address,
# $mt_bsz size, $mt_bctx context id, $mt_bseq): $mt_mode 1 lists the blocks
# of context $mt_want, 2 looks for the block holding $mt_addr and stops there.
define memtrace--on-block
  if $mt_mode == 1
    if $mt_bctx == $mt_want
      printf "  0x%llx %llu %llu\n", $mt_bp, $mt_bsz, $mt_bseq
      set $mt_found = $mt_found + 1
      set $mt_fbytes = $mt_fbytes + $mt_bsz
    end
  else
    if $mt_addr >= $mt_bp && ($mt_addr < $mt_bp + $mt_bsz || $mt_addr == $mt_bp)
      set $mt_hit = 1
      set $mt_hp = $mt_bp
      set $mt_hsz = $mt_bsz
      set $mt_hctx = $mt_bctx
      set $mt_hseq = $mt_bseq
      set $mt_stop = 1
    end
  end
end
document memtrace--on-block
Internal: what memtrace-blocks and memtrace-whoalloc do with each block.
end

# Walk the block table, running memtrace--on-block on each live block, until
# it sets $mt_stop.
define memtrace--walk-blocks
  set $mt_stop = 0
  set $mt_k = 0
  while $mt_k < $mt_nshards && !$mt_stop
    set $mt_sh = $mt_shards + $mt_k * $mt_shstride
    set $mt_cap = *(unsigned int *) ($mt_sh + $mt_o_cap)
    if $mt_cap && *(unsigned int *) ($mt_sh + $mt_o_count)
      set $mt_x = $mt_sh + $mt_o_slots
      set $mt_e = (char *) ($mt_ps == 8 ? *(unsigned long long *) $mt_x : *(unsigned int *) $mt_x)
      set $mt_end = $mt_e + $mt_cap * $mt_estride
      while $mt_e < $mt_end
        set $mt_bp = *(unsigned long long *) ($mt_e + $mt_o_eptr)
        if $mt_bp
          set $mt_x = *(unsigned long long *) ($mt_e + $mt_o_ecs)
          set $mt_bctx = $mt_x >> $mt_sbits
          set $mt_bsz = $mt_x & $mt_smask
          set $mt_bseq = *(unsigned long long *) ($mt_e + $mt_o_eseq)
          memtrace--on-block
          if $mt_stop
            loop_break
          end
        end
        set $mt_e = $mt_e + $mt_estride
      end
    end
    set $mt_k = $mt_k + 1
  end
end
document memtrace--walk-blocks
Internal: run memtrace--on-block on every live block.
end

define memtrace-blocks
  memtrace--anchor
  if $mt_ok
    if $argc != 1
      printf "usage: memtrace-blocks ID\n"
    else
      set $mt_want = $arg0
      set $mt_found = 0
      set $mt_fbytes = 0
      printf "live blocks of context %u (address size seq), in table order:\n", $mt_want
      set $mt_mode = 1
      memtrace--walk-blocks
      printf "context %u: %llu blocks, %llu bytes\n", $mt_want, $mt_found, $mt_fbytes
    end
  end
end
document memtrace-blocks
memtrace-blocks ID: address, size and sequence number of every live block of
context ID (in table order: sort on the sequence number for age, e.g.
pipe memtrace-blocks 3 | sort -n -k3). Works on a live process and on a core.
end

define memtrace-whoalloc
  memtrace--anchor
  if $mt_ok
    if $argc != 1
      printf "usage: memtrace-whoalloc ADDR\n"
    else
      set $mt_addr = (unsigned long long) ($arg0)
      set $mt_hit = 0
      set $mt_mode = 2
      memtrace--walk-blocks
      if $mt_hit
        printf "0x%llx is %llu bytes into the block at 0x%llx of %llu bytes (seq %llu), context %u:\n", $mt_addr, $mt_addr - $mt_hp, $mt_hp, $mt_hsz, $mt_hseq, $mt_hctx
        memtrace--ctx $mt_hctx
        if $mt_c
          memtrace--print-ctx $mt_hctx
        end
      else
        printf "0x%llx is in no live block memtrace knows of\n", $mt_addr
      end
    end
  end
end
document memtrace-whoalloc
memtrace-whoalloc ADDR: the live block that holds ADDR (its first byte or any
other), and the context that allocated it with its callstack. Works on a live
process and on a core.
end

# ---------------------------------------------------------------- break

define memtrace-break
  memtrace--anchor
  if $mt_ok
    if $argc != 1
      printf "usage: memtrace-break ID (0 disarms)\n"
    else
      # On a core this write fails: there is no process to stop.
      set var *$mt_brk = $arg0
      if $arg0
        tbreak memtrace_gdb_break_hit
        commands
          silent
          memtrace--anchor
          printf "memtrace: context %llu allocated %llu bytes at 0x%llx (bt shows where; the block is recorded)\n", $mt_A[10], $mt_A[12], $mt_A[11]
        end
        printf "memtrace: armed: the next allocation in context %u stops in memtrace_gdb_break_hit (continue)\n", $arg0
      else
        printf "memtrace: disarmed\n"
      end
    end
  end
end
document memtrace-break
memtrace-break ID: on a live process, stop when context ID next allocates
(once: arm again for the next one; memtrace-break 0 disarms). The stop is in
the agent's memtrace_gdb_break_hit, called from the allocation hook after the
block is recorded; the block's address and size are printed, `bt` shows the
allocating code, `finish` until you are back in it. The agent checks the
armed id with one load per allocation. Refused on a core (no process).
end
