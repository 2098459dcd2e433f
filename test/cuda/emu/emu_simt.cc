/* emu_simt.cc - runs a kernel launch on the CPU: blocks one after another, the
 * threads of a block as fibers that switch only at barriers (see simt.h).
 *
 * A fiber runs until it reaches a barrier; the last thread to arrive
 * releases the others and goes on, the others hand over directly to the
 * next ready fiber in the block's order. Control returns to the scheduler
 * only when no fiber is ready: then either all have finished, or some wait
 * at a barrier that can never complete and the block fails. Warp shuffles
 * are one warp barrier each over a double-buffered exchange slot per lane. */
#include "simt.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#else
#define EMU_ASAN 0
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

const emu_thread_view *emu_current;

namespace {

const size_t kStack = EMU_ASAN ? 256 * 1024 : 64 * 1024; /* per fiber */
const size_t kGuard = 4096;
const int kMaxThreads = 1024;

enum fiber_state { READY, WAIT_BLOCK, WAIT_WARP, DONE, STUCK };

struct fiber {
    emu_thread_view view;
    int linear, warp, lane;
    fiber_state state;
    int shfl_parity;
    emu_site site; /* where it waits */
#if defined(__x86_64__)
    void *sp;
#else
    ucontext_t uc;
#endif
    char *stack;
    void *fake_stack;
};

struct warp_state {
    int size, arrived;
    emu_site site;
    uint64_t slot[2][32];
};

struct block_run {
    const emu_kernel_launch *k;
    std::vector<fiber> fibers;
    std::vector<warp_state> warps;
    int nthreads, live, block_arrived;
    emu_site block_site;
    void *smem;
    std::vector<std::pair<int, void *>> statics; /* __shared__ variables */
    bool failed, reverse;
    char *msg;
    size_t msg_len;
};

block_run *g_run;
fiber *g_cur;
char *g_stacks;
#if defined(__x86_64__)
void *g_sched_sp;
#else
ucontext_t g_sched_uc;
#endif
#if EMU_ASAN
const void *g_sched_bottom;
size_t g_sched_size;
void *g_sched_fake;
#endif

/* ---- context switch -------------------------------------------------------- */

#if defined(__x86_64__)
/* Saves the callee-saved registers on the current stack, stores the stack
 * pointer in *from and continues on `to`. The floating-point environment
 * (MXCSR, x87 control word) is shared: kernels never change it. */
extern "C" void emu_ctx_switch(void **from, void *to);
__asm__(".text\n"
        ".globl emu_ctx_switch\n"
        ".type emu_ctx_switch,@function\n"
        "emu_ctx_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size emu_ctx_switch, .-emu_ctx_switch\n");
#endif

void fiber_main();

#if !defined(__x86_64__)
void fiber_main_uc() { fiber_main(); }
#endif

/* Prepares f to start at fiber_main on its stack. */
void fiber_init(fiber *f)
{
#if EMU_ASAN
    __asan_unpoison_memory_region(f->stack, kStack); /* frames of a previous block */
#endif
    f->fake_stack = nullptr;
#if defined(__x86_64__)
    /* stack tops 64 bytes apart modulo 4 KB, so that they do not all fall
     * into one cache set */
    uintptr_t top = ((uintptr_t)f->stack + kStack - (uintptr_t)(f->linear % 61) * 64) &
                    ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = nullptr;                           /* fiber_main's return address: none */
    *--sp = reinterpret_cast<void *>(&fiber_main); /* where emu_ctx_switch returns to */
    for (int i = 0; i < 6; i++)
        *--sp = nullptr; /* rbp rbx r12 r13 r14 r15 */
    f->sp = sp;
#else
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = kStack;
    f->uc.uc_link = nullptr;
    makecontext(&f->uc, fiber_main_uc, 0);
#endif
}

/* The next fiber to run after `from` (the scheduler when NULL): the first
 * ready one after it in the block's order, wrapping; NULL when none is. */
fiber *next_ready(const fiber *from)
{
    std::vector<fiber> &fs = g_run->fibers;
    const int n = (int)fs.size();
    const int step = g_run->reverse ? n - 1 : 1;
    int i = from ? from->linear : (g_run->reverse ? 0 : n - 1);
    for (int k = 0; k < n; k++) {
        i = (i + step) % n;
        if (fs[(size_t)i].state == READY && &fs[(size_t)i] != from)
            return &fs[(size_t)i];
    }
    return nullptr;
}

#if EMU_ASAN
bool g_from_sched; /* the switch that is landing came from the scheduler */

/* Completes a switch that landed in `self` (NULL: the scheduler). */
void landed(fiber *self)
{
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(self ? self->fake_stack : g_sched_fake, &bottom, &size);
    if (g_from_sched) { /* learn the scheduler's stack, to switch back to it */
        g_sched_bottom = bottom;
        g_sched_size = size;
    }
}
#endif

/* Switches from `from` to `to` (either NULL: the scheduler); returns when
 * something switches back to `from`. A finished fiber never comes back. */
void switch_to(fiber *from, fiber *to, bool finished)
{
    g_cur = to;
    emu_current = to ? &to->view : nullptr;
#if EMU_ASAN
    __sanitizer_start_switch_fiber(finished ? nullptr : from ? &from->fake_stack : &g_sched_fake,
                                   to ? (const void *)to->stack : g_sched_bottom,
                                   to ? kStack : g_sched_size);
    g_from_sched = from == nullptr;
#else
    (void)finished;
#endif
#if defined(__x86_64__)
    emu_ctx_switch(from ? &from->sp : &g_sched_sp, to ? to->sp : g_sched_sp);
#else
    swapcontext(from ? &from->uc : &g_sched_uc, to ? &to->uc : &g_sched_uc);
#endif
#if EMU_ASAN
    landed(from);
#endif
}

/* The running fiber stops (waiting, finished or stuck): on to the next
 * ready fiber, or back to the scheduler when there is none. */
void yield(bool finished)
{
    fiber *f = g_cur;
    switch_to(f, f->state == STUCK ? nullptr : next_ready(f), finished);
}

/* ---- failures ---------------------------------------------------------------- */

/* Marks the block failed with a message naming the kernel, block and thread,
 * and parks the calling fiber for good. */
__attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...)
{
    block_run *r = g_run;
    fiber *f = g_cur;
    if (!r->failed) {
        r->failed = true;
        int n = snprintf(r->msg, r->msg_len, "kernel %s block (%u,%u,%u) thread (%u,%u,%u): ",
                         r->k->name, f->view.block_idx.x, f->view.block_idx.y,
                         f->view.block_idx.z, f->view.thread_idx.x, f->view.thread_idx.y,
                         f->view.thread_idx.z);
        if (n >= 0 && (size_t)n < r->msg_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->msg + n, r->msg_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    f->state = STUCK;
    for (;;)
        yield(false);
}

/* ---- barriers ---------------------------------------------------------------- */

void release_block(block_run *r)
{
    for (fiber &f : r->fibers)
        if (f.state == WAIT_BLOCK)
            f.state = READY;
    r->block_arrived = 0;
}

bool same_site(emu_site a, emu_site b)
{
    return a.line == b.line && (a.file == b.file || strcmp(a.file, b.file) == 0);
}

void fiber_main()
{
    fiber *f = g_cur;
#if EMU_ASAN
    landed(f);
#endif
    g_run->k->body();
    f->state = DONE;
    block_run *r = g_run;
    r->live--;
    warp_state &w = r->warps[(size_t)f->warp];
    w.size--; /* a warp barrier needs the lanes that are left... */
    if (w.arrived > 0)
        fail("exited while other lanes of its warp wait at a shuffle or __syncwarp");
    if (r->block_arrived > 0 && r->block_arrived == r->live)
        release_block(r); /* exited threads do not hold back __syncthreads */
    for (;;)
        yield(true);
}

} /* namespace */

void emu_syncthreads(emu_site site)
{
    block_run *r = g_run;
    fiber *f = g_cur;
    if (r->block_arrived == 0)
        r->block_site = site;
    else if (!same_site(r->block_site, site))
        fail("__syncthreads at %s:%d while others wait at %s:%d (undefined behaviour)",
             site.file, site.line, r->block_site.file, r->block_site.line);
    if (++r->block_arrived == r->live) {
        release_block(r);
        return;
    }
    f->state = WAIT_BLOCK;
    f->site = site;
    yield(false);
}

namespace {

/* Waits until every lane of the calling warp has arrived at `site`. */
void warp_barrier(emu_site site, const char *what)
{
    block_run *r = g_run;
    fiber *f = g_cur;
    warp_state &w = r->warps[(size_t)f->warp];
    if (w.arrived == 0)
        w.site = site;
    else if (!same_site(w.site, site))
        fail("%s at %s:%d while other lanes of its warp wait at %s:%d", what, site.file,
             site.line, w.site.file, w.site.line);
    if (++w.arrived == w.size) {
        w.arrived = 0;
        for (int i = 0; i < 32; i++) {
            size_t t = (size_t)f->warp * 32 + (size_t)i;
            if (t < r->fibers.size() && r->fibers[t].state == WAIT_WARP)
                r->fibers[t].state = READY;
        }
        return;
    }
    f->state = WAIT_WARP;
    f->site = site;
    yield(false);
}

void check_full_mask(unsigned int mask, const char *what)
{
    block_run *r = g_run;
    fiber *f = g_cur;
    const warp_state &w = r->warps[(size_t)f->warp];
    if (mask != 0xffffffffu)
        fail("%s with mask 0x%08x: the emulator supports full-warp masks only", what, mask);
    if (w.size != 32)
        fail("%s with a full mask in a warp of %d live lanes (undefined behaviour)", what,
             w.size);
}

} /* namespace */

void emu_syncwarp(unsigned int mask, emu_site site)
{
    check_full_mask(mask, "__syncwarp");
    warp_barrier(site, "__syncwarp");
}

uint64_t emu_shfl_xor(unsigned int mask, uint64_t bits, int lane_mask, emu_site site)
{
    check_full_mask(mask, "__shfl_xor_sync");
    fiber *f = g_cur;
    warp_state &w = g_run->warps[(size_t)f->warp];
    const int buf = f->shfl_parity;
    f->shfl_parity ^= 1;
    w.slot[buf][f->lane] = bits;
    /* after this barrier every lane has written buf; the next shuffle writes
     * the other buffer, and the one after can only start when every lane has
     * passed the next barrier, i.e. has read buf */
    warp_barrier(site, "__shfl_xor_sync");
    return w.slot[buf][(f->lane ^ lane_mask) & 31];
}

void *emu_dynamic_smem(void) { return g_run->smem; }

void *emu_static_smem(int id, size_t bytes, size_t align)
{
    block_run *r = g_run;
    for (const auto &v : r->statics)
        if (v.first == id)
            return v.second;
    void *p = nullptr;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, bytes) != 0)
        fail("cannot allocate %zu bytes of shared memory", bytes);
    memset(p, 0xff, bytes);
    r->statics.emplace_back(id, p);
    return p;
}

namespace {

bool stacks_ready(char *msg, size_t len)
{
    if (g_stacks)
        return true;
    size_t total = (kStack + kGuard) * (size_t)kMaxThreads;
    void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
                   MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(msg, len, "cannot map %zu bytes of fiber stacks", total);
        return false;
    }
    g_stacks = (char *)p;
    for (int i = 0; i < kMaxThreads; i++) /* a guard page below each stack */
        mprotect(g_stacks + (size_t)i * (kStack + kGuard), kGuard, PROT_NONE);
    return true;
}

bool reverse_order()
{
    const char *v = getenv("HXQ_EMU_ORDER");
    return v && strcmp(v, "reverse") == 0;
}

/* Runs one block; false when it failed (r.msg says why). */
bool run_block(block_run &r, const unsigned int b[3], bool reverse)
{
    const emu_kernel_launch &k = *r.k;
    int n = r.nthreads;
    r.live = n;
    r.block_arrived = 0;
    r.block_site = emu_site{"", 0};
    for (const auto &v : r.statics)
        free(v.second);
    r.statics.clear();
    memset(r.smem, 0xff, k.smem ? k.smem : 1);
    for (size_t w = 0; w < r.warps.size(); w++) {
        r.warps[w].size = n - (int)w * 32 < 32 ? n - (int)w * 32 : 32;
        r.warps[w].arrived = 0;
    }
    for (int t = 0; t < n; t++) {
        fiber &f = r.fibers[(size_t)t];
        f.linear = t;
        f.warp = t / 32;
        f.lane = t % 32;
        f.state = READY;
        f.shfl_parity = 0;
        f.site = emu_site{"", 0};
        f.view.thread_idx.x = (unsigned)t % k.block[0];
        f.view.thread_idx.y = (unsigned)t / k.block[0] % k.block[1];
        f.view.thread_idx.z = (unsigned)t / (k.block[0] * k.block[1]);
        f.view.block_idx = emu_uint3{b[0], b[1], b[2]};
        f.view.block_dim = emu_uint3{k.block[0], k.block[1], k.block[2]};
        f.view.grid_dim = emu_uint3{k.grid[0], k.grid[1], k.grid[2]};
        f.stack = g_stacks + (size_t)t * (kStack + kGuard) + kGuard;
        fiber_init(&f);
    }
    r.reverse = reverse;
    while (r.live > 0 && !r.failed) {
        fiber *f0 = next_ready(nullptr);
        if (f0) {
            switch_to(nullptr, f0, false); /* back when no fiber is ready */
            continue;
        }
        int t = 0; /* nothing is ready but threads are left: they wait forever */
        while (t < n && r.fibers[(size_t)t].state == DONE)
            t++;
        const fiber &f = r.fibers[(size_t)t];
        snprintf(r.msg, r.msg_len,
                 "kernel %s block (%u,%u,%u): deadlock: thread %d waits at %s (%s:%d) that "
                 "can never complete (%d of %d threads live)",
                 k.name, b[0], b[1], b[2], t,
                 f.state == WAIT_BLOCK ? "__syncthreads" : "a warp barrier", f.site.file,
                 f.site.line, r.live, n);
        r.failed = true;
    }
    return !r.failed;
}

} /* namespace */

int emu_simt_run(const emu_kernel_launch &k, char *msg, size_t len)
{
    if (!stacks_ready(msg, len))
        return -1;
    unsigned int n = k.block[0] * k.block[1] * k.block[2];
    block_run r;
    r.k = &k;
    r.nthreads = (int)n;
    r.fibers.resize(n);
    r.warps.resize((n + 31) / 32);
    r.failed = false;
    r.msg = msg;
    r.msg_len = len;
    r.smem = malloc(k.smem ? k.smem : 1);
    if (!r.smem) {
        snprintf(msg, len, "kernel %s: cannot allocate %zu bytes of shared memory", k.name,
                 k.smem);
        return -1;
    }
    const bool reverse = reverse_order();
    g_run = &r;
    bool ok = true;
    unsigned int b[3];
    for (b[2] = 0; ok && b[2] < k.grid[2]; b[2]++)
        for (b[1] = 0; ok && b[1] < k.grid[1]; b[1]++)
            for (b[0] = 0; ok && b[0] < k.grid[0]; b[0]++)
                ok = run_block(r, b, reverse);
    g_run = nullptr;
    for (const auto &v : r.statics)
        free(v.second);
    free(r.smem);
    return ok ? 0 : -1;
}
