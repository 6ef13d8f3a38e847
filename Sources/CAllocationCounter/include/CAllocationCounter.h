#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

// A malloc interposer for benchmarks: preloaded with LD_PRELOAD, it counts the heap allocations made
// while counting is on. Without LD_PRELOAD nothing is counted (the functions below are looked up with
// dlsym by the benchmark, which re-executes itself with the library preloaded).

/// Turns counting on (1) or off (0).
void parla_allocation_counting(int enabled);

/// Allocations (malloc, calloc, realloc of a new block, aligned allocations) counted so far.
long long parla_allocation_count(void);

#endif
