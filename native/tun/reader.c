/*
 * Arrivals read by the release thread ("reader").
 *
 * Writing a packet into a TUN makes the host's stack answer at once (a TCP ACK, or the next data
 * segments an ACK releases), and the answer lands in the same TUN's read queue during the write. So the
 * release thread writing to a TUN also reads it, non-blocking, right after its writes (and when it
 * becomes readable while the thread sleeps), stamps each packet, and stages it for the worker of the
 * other direction, which it wakes (an eventfd) at most every windowUs. That worker still decides every
 * packet's fate from its stamp; it asks for this only when its smallest delay is well above windowUs.
 *
 * The release thread reads a TUN only for a direction whose every delay is long (> 4 ms): most arrivals
 * are answers to its writes, so need no wake-up of their own, and the worker wakes once per few ms for
 * a batch instead of once per packet. When that direction needs no random draw the release thread
 * decides each packet too (fast-path.c), and nothing is staged here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "napi-util.h"
#include "release.h"
#include "tun.h"

static void reader_notify(reader_t *r) {
  if (r->notified) return;
  uint64_t one = 1;
  ssize_t w = write(r->efd, &one, sizeof one);
  (void)w;
  r->notified = 1;
}

/* Reads what waits in the TUN into the staging ring (non-blocking); notifies once the window is over
 * (on any wake-up of this thread: a release is due every fraction of a ms on a busy link) or the ring is
 * half full. Returns when this thread must wake only to notify, two windows after the first staged
 * packet (0: nothing pending). Caller holds the sender's lock (which keeps the reader linked). */
double reader_poll(reader_t *r) {
  pthread_mutex_lock(&r->mu);
  while (r->n < r->cap) {
    int i = (r->head + r->n) % r->cap;
    ssize_t got = read(r->fd, r->ring + (size_t)i * (size_t)r->slot_size, (size_t)r->slot_size);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r->lens[i] = (int32_t)got;
    r->stamps[i] = clock_us(CLOCK_MONOTONIC);
    r->n++;
  }
  double deadline = 0;
  if (r->n > 0 && !r->notified) {
    double first = r->stamps[r->head];
    if (r->n * 2 >= r->cap || clock_us(CLOCK_MONOTONIC) >= first + r->window_us)
      reader_notify(r);
    else
      deadline = first + 2 * r->window_us;
  }
  pthread_mutex_unlock(&r->mu);
  return deadline;
}

int reader_full(reader_t *r) {
  pthread_mutex_lock(&r->mu);
  int full = r->n >= r->cap;
  pthread_mutex_unlock(&r->mu);
  return full;
}

void reader_finalize(napi_env env, void *data, void *hint) {
  reader_t *r = data;
  registry_unlink(NULL, r);
  if (r->target) r->target->fast_reader = NULL;
  close(r->efd);
  pthread_mutex_destroy(&r->mu);
  free(r->ring);
  free(r->lens);
  free(r->stamps);
  free(r);
}

/* reader(fd, windowUs, capacity, slotSize) -> handle */
napi_value Reader(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, cap, slot_size;
  double window;
  if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], &fd) || !get_i32(env, argv[2], &cap) ||
      !get_i32(env, argv[3], &slot_size))
    return NULL;
  if (napi_get_value_double(env, argv[1], &window) != napi_ok || cap <= 0 || slot_size <= 0) {
    napi_throw_type_error(env, "QOELAB_TUN_ARGS", "reader: bad window, capacity or slot size");
    return NULL;
  }
  reader_t *r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, "QOELAB_TUN_NOMEM", "qoelab_tun: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->cap = cap;
  r->slot_size = slot_size;
  r->window_us = window;
  r->ring = malloc((size_t)cap * (size_t)slot_size);
  r->lens = calloc((size_t)cap, sizeof *r->lens);
  r->stamps = calloc((size_t)cap, sizeof *r->stamps);
  r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!r->ring || !r->lens || !r->stamps || r->efd < 0) {
    if (r->efd >= 0) close(r->efd);
    free(r->ring);
    free(r->lens);
    free(r->stamps);
    free(r);
    napi_throw_error(env, "QOELAB_TUN_READER", "qoelab_tun: cannot create the reader");
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  registry_link(fd, NULL, r);
  napi_value external;
  CHECK(napi_create_external(env, r, reader_finalize, NULL, &external));
  return external;
}

reader_t *get_reader(napi_env env, napi_value v) {
  return get_external(env, v, "qoelab_tun: expected a reader handle");
}

/* readerEventFd(h) -> the eventfd that turns readable when arrivals are staged */
napi_value ReaderEventFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r) return NULL;
  return make_int(env, r->target ? fast_event_fd(r->target->fast) : r->efd);
}

/* readerDrain(h, pool, slotSize, slots:Int32Array, lengths:Int32Array, stampsUs:Float64Array, max) -> count */
napi_value ReaderDrain(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int32_t slot_size, max;
  uint8_t *pool, *stamp_bytes;
  size_t pool_len, nslots, nlens, stamp_len;
  int32_t *slots, *lengths;
  if (!get_args(env, info, 7, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r || !get_bytes(env, argv[1], &pool, &pool_len) || !get_i32(env, argv[2], &slot_size) ||
      !get_i32_array(env, argv[3], &slots, &nslots) || !get_i32_array(env, argv[4], &lengths, &nlens) ||
      !get_bytes(env, argv[5], &stamp_bytes, &stamp_len) || !get_i32(env, argv[6], &max))
    return NULL;
  double *stamps = (double *)stamp_bytes;
  if ((size_t)max > nslots) max = (int32_t)nslots;
  if ((size_t)max > nlens) max = (int32_t)nlens;
  if ((size_t)max > stamp_len / sizeof(double)) max = (int32_t)(stamp_len / sizeof(double));
  uint64_t count;
  ssize_t got = read(r->efd, &count, sizeof count);
  (void)got;
  int32_t n = 0;
  pthread_mutex_lock(&r->mu);
  int was_full = r->n >= r->cap;
  while (n < max && r->n > 0) {
    int32_t slot = slots[n];
    size_t off = (size_t)slot * (size_t)slot_size;
    if (slot < 0 || off + (size_t)slot_size > pool_len) break;
    int32_t len = r->lens[r->head];
    if (len > slot_size) len = slot_size;
    memcpy(pool + off, r->ring + (size_t)r->head * (size_t)r->slot_size, (size_t)len);
    lengths[n] = len;
    stamps[n] = r->stamps[r->head];
    n++;
    r->head = (r->head + 1) % r->cap;
    r->n--;
  }
  if (r->n == 0) r->notified = 0;
  else if (n == max) reader_notify(r); /* more to take: stay readable */
  pthread_mutex_unlock(&r->mu);
  if (was_full) registry_poke(r);
  return make_int(env, n);
}

/* readerStop(h): the release thread stops reading for it (staged packets stay for readerDrain). */
napi_value ReaderStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  reader_t *r = get_reader(env, argv[0]);
  if (!r) return NULL;
  registry_unlink(NULL, r);
  return make_int(env, 0);
}
