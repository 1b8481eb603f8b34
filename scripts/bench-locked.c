// SPDX-License-Identifier: GPL-2.0
/*
 * bench-locked: what one uncontended locked read-modify-write costs on the
 * host CPU, for make bench's native run.  UML in 6.12 is uniprocessor, so
 * the atomics of the mechanisms compared there (mutex, rwsem, refcount,
 * kref) are plain instructions and SRCU's barriers are gone; on an SMP
 * x86-64 kernel each of them is a lock-prefixed instruction (smp_mb() is a
 * locked add to the stack).  The report adds this cost, once per locked
 * instruction of a mechanism's fast path, to the native figures to
 * estimate their SMP cost (a lower bound: the cache line stays in this
 * CPU's L1).
 *
 * Output: one line, "locked: plain_ns_x100=N locked_ns_x100=N
 * cmpxchg_ns_x100=N", medians of 9 runs of 20M operations each; ns per
 * operation, times 100.  x86-64 only (elsewhere it prints nothing and
 * exits 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N	20000000L
#define RUNS	9

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#if defined(__x86_64__)
static int word;

static uint64_t run(int kind)
{
	uint64_t t0 = now_ns();
	long i;
	int old;

	for (i = 0; i < N; i++) {
		switch (kind) {
		case 0:
			asm volatile("addl $1, %0" : "+m" (word));
			break;
		case 1:
			asm volatile("lock addl $1, %0" : "+m" (word));
			break;
		default:
			old = word;
			asm volatile("lock cmpxchgl %2, %1"
				     : "+a" (old), "+m" (word)
				     : "r" (old + 1) : "memory");
			break;
		}
	}
	return now_ns() - t0;
}

int main(void)
{
	uint64_t t[3][RUNS], med[3];
	int k, r;

	for (r = 0; r < RUNS; r++)
		for (k = 0; k < 3; k++)
			t[k][r] = run(k);
	for (k = 0; k < 3; k++) {
		qsort(t[k], RUNS, sizeof(t[k][0]), cmp);
		med[k] = t[k][RUNS / 2] * 100 / N;
	}
	printf("locked: plain_ns_x100=%llu locked_ns_x100=%llu cmpxchg_ns_x100=%llu\n",
	       (unsigned long long)med[0], (unsigned long long)med[1],
	       (unsigned long long)med[2]);
	return 0;
}
#else
int main(void)
{
	return 0;
}
#endif
