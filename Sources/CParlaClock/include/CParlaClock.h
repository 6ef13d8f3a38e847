#ifndef C_PARLA_CLOCK_H
#define C_PARLA_CLOCK_H

// The processor's cycle counter, read in a few cycles (no system call, no vDSO call): what a traced
// run stamps its events with. Swift has no way to read it itself.
//
// x86-64: the time-stamp counter (RDTSC). AArch64: the virtual counter (CNTVCT_EL0), which ticks at a
// constant rate (CNTFRQ_EL0) on every core. Elsewhere: 0 (the caller then uses the monotonic clock).
// Whether the counter may be trusted (constant rate, the same on every core, read without a trap) is
// the caller's question: Linux answers it by choosing it as its clock source.

/// The cycle counter's value now.
static inline unsigned long long parla_cycle_counter(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    unsigned long long value;
    // (The barrier keeps the read from being taken before the instructions that precede it.)
    __asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(value) : : "memory");
    return value;
#else
    return 0;
#endif
}

/// Whether `parla_cycle_counter` reads a counter on this architecture.
static inline int parla_has_cycle_counter(void) {
#if defined(__x86_64__) || defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

#endif
