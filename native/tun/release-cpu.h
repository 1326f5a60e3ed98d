/* Where the release threads run (release-cpu.c). */
#ifndef QOELAB_RELEASE_CPU_H
#define QOELAB_RELEASE_CPU_H

#define PIN_NONE 0
#define PIN_FIXED 1
#define PIN_AUTO 2
#define PIN_CHECK_US 100000.0
#define PIN_LEAVE_SHARE 0.25
#define PIN_RETURN_SHARE 0.10

typedef struct {
  int mode, pinned;
  double check_wall, check_cpu;
} pin_t;

/* Reads QOELAB_RELEASE_CPU and places the calling thread. */
void pin_start(pin_t *p);
/* Auto mode, every PIN_CHECK_US: leaves the shared CPU when busy, comes back when idle again. */
void pin_adapt(pin_t *p);

#endif
