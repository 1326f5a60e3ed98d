/*
 * Event-loop integration: uv_poll watches of descriptors, and timerfd timers, on the calling thread's
 * libuv loop.
 *
 * Why uv_poll on the JS thread rather than a reader thread: the per-packet decisions (loss models,
 * queues, delay) live in TypeScript and run on the event loop of the direction's worker; an epoll
 * wake-up of that loop costs one syscall, a hand-off from a private thread would cost a second wake-up
 * and a copy. timerfd gives the loop microsecond deadlines (libuv's own timers round to 1 ms).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "napi-util.h"
#include "tun.h"

typedef struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int is_timer; /* owns fd (a timerfd) */
  int closing;
} watch_t;

static void watch_free(uv_handle_t *handle) {
  watch_t *w = (watch_t *)handle->data;
  if (w->is_timer) close(w->fd);
  free(w);
}

static void watch_close(watch_t *w) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(&w->poll);
  if (w->callback) napi_delete_reference(w->env, w->callback);
  w->callback = NULL;
  if (w->context) napi_async_destroy(w->env, w->context);
  w->context = NULL;
  uv_close((uv_handle_t *)&w->poll, watch_free);
}

static void cleanup_hook(void *arg) { watch_close((watch_t *)arg); }

static void on_poll(uv_poll_t *handle, int status, int events) {
  watch_t *w = (watch_t *)handle->data;
  if (w->closing) return;
  if (w->is_timer) {
    uint64_t expirations;
    if (read(w->fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN) return;
  }
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[2], result;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    napi_create_int32(env, status, &args[0]);
    napi_create_int32(env, events, &args[1]);
    napi_status st = napi_make_callback(env, w->context, recv, cb, 2, args, &result);
    if (st == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_nothing(napi_env env, void *data, void *hint) {}

static napi_value start_watch(napi_env env, int fd, int is_timer, napi_value callback) {
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, "QOELAB_TUN_NOMEM", "qoelab_tun: out of memory");
    return NULL;
  }
  w->env = env;
  w->fd = fd;
  w->is_timer = is_timer;
  napi_value name;
  napi_create_string_utf8(env, is_timer ? "qoelab:timer" : "qoelab:tun", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, callback, 1, &w->callback) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok || uv_poll_init(loop, &w->poll, fd) != 0) {
    if (is_timer) close(fd);
    free(w);
    napi_throw_error(env, "QOELAB_TUN_POLL", "qoelab_tun: cannot watch the descriptor");
    return NULL;
  }
  w->poll.data = w;
  uv_poll_start(&w->poll, UV_READABLE, on_poll);
  napi_add_env_cleanup_hook(env, cleanup_hook, w);
  napi_value external;
  CHECK(napi_create_external(env, w, finalize_nothing, NULL, &external));
  return external;
}

static watch_t *get_watch(napi_env env, napi_value v) {
  return get_external(env, v, "qoelab_tun: expected a watch handle");
}

napi_value Watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  return start_watch(env, fd, 0, argv[1]);
}

napi_value Timer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) {
    napi_throw_error(env, "QOELAB_TUN_TIMER", strerror(errno));
    return NULL;
  }
  return start_watch(env, fd, 1, argv[0]);
}

napi_value TimerArm(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double at_us;
  if (!get_args(env, info, 2, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  if (napi_get_value_double(env, argv[1], &at_us) != napi_ok) return NULL;
  if (!w->is_timer || w->closing) return make_int(env, -EINVAL);
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (at_us > 0) its.it_value = deadline_timespec(at_us);
  if (timerfd_settime(w->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) return make_int(env, -errno);
  return make_int(env, 0);
}

napi_value Unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (!w) return NULL;
  if (!w->closing) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, w);
    watch_close(w);
  }
  return make_int(env, 0);
}
