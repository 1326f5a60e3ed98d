/*
 * qoelab_tun: the smallest native surface the userspace link emulator needs, as an N-API addon.
 *
 *   openTun(name, netnsPath|null, mtu, device) -> fd | -errno  TUN (IFF_TUN|IFF_NO_PI), non-blocking,
 *                                                            created inside netnsPath via setns;
 *                                                            device is normally "/dev/net/tun"
 *   readBatch(fd, pool, slotSize, slots, lengths, max) -> count | -errno
 *                                                            reads up to max packets into pool slots
 *   write(fd, buf, offset, length)          -> bytes | -errno  never throws
 *   writeBatch(fd, buf, offsets, lengths, count) -> packets written (stops at the first error)
 *   close(fd), nowUs(), realtimeUs(), strerror(errno), setTimerSlack(ns), setRealtime(prio) (this thread)
 *   watch(fd, callback)                     -> handle        uv_poll on the calling thread's loop
 *   timer(callback)                         -> handle        timerfd (CLOCK_MONOTONIC) on that loop
 *   timerArm(handle, atUs)                                   absolute monotonic µs; 0 disarms
 *   unwatch(handle)                                          stops and frees a watch or a timer
 *   sender(fd, pool, slotSize, realtimePrio, spinUs)  -> handle  a release thread (sender.c)
 *   senderSchedule(h, slots, lengths, dueUs, count)          hands packets over, each to be written at dueUs
 *   senderDrain(h, slots, results, atUs) -> count            packets written since: bytes or -errno, time
 *   senderStop(h, slots) -> count                             joins the thread; slots never written
 *   senderInfo(h) -> [realtime ok, wake-ups, spins]
 *   reader(fd, windowUs, capacity, slotSize) -> handle      arrivals on fd, read by the release thread
 *                                                            that writes to fd (reader.c)
 *   readerEventFd(h) -> fd                                   readable when arrivals wait (watch it)
 *   readerDrain(h, pool, slotSize, slots, lengths, stampsUs, max) -> count   copies them into the pool
 *   readerStop(h)                                            the release thread stops reading for it
 *   readerFast(fd, sender, params, logRows) -> handle        like reader, but that thread also decides
 *                                                            each packet (simple specs: fast-path.c)
 *   readerLog(h, out) -> rows                                log rows of the packets decided in C
 *
 * One file per part: napi-util.c (argument helpers), clock.c (clocks, this thread's timing),
 * tun-device.c, netns.c (creating it in a lab's namespace), watch.c (uv_poll watches and timerfd
 * timers), sender.c (the release thread), release-cpu.c (where release threads run), reader.c
 * (arrivals read by a release thread), registry.c (which release thread reads for which reader),
 * fast-path.c (decisions in C). release.h holds what sender, reader, registry and fast path share.
 * The timer wake-up cost probe (wake-probe.c) is an addon of its own, for the benchmark.
 */
#include <node_api.h>

#include "tun.h"

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"openTun", NULL, OpenTun, NULL, NULL, NULL, napi_default, NULL},
      {"readBatch", NULL, ReadBatch, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, Write, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, WriteBatch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"nowUs", NULL, NowUs, NULL, NULL, NULL, napi_default, NULL},
      {"realtimeUs", NULL, RealtimeUs, NULL, NULL, NULL, napi_default, NULL},
      {"setTimerSlack", NULL, SetTimerSlack, NULL, NULL, NULL, napi_default, NULL},
      {"setRealtime", NULL, SetRealtime, NULL, NULL, NULL, napi_default, NULL},
      {"strerror", NULL, StrError, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, Watch, NULL, NULL, NULL, napi_default, NULL},
      {"timer", NULL, Timer, NULL, NULL, NULL, napi_default, NULL},
      {"timerArm", NULL, TimerArm, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_default, NULL},
      {"sender", NULL, Sender, NULL, NULL, NULL, napi_default, NULL},
      {"senderSchedule", NULL, SenderSchedule, NULL, NULL, NULL, napi_default, NULL},
      {"senderDrain", NULL, SenderDrain, NULL, NULL, NULL, napi_default, NULL},
      {"senderStop", NULL, SenderStop, NULL, NULL, NULL, napi_default, NULL},
      {"senderInfo", NULL, SenderInfo, NULL, NULL, NULL, napi_default, NULL},
      {"reader", NULL, Reader, NULL, NULL, NULL, napi_default, NULL},
      {"readerEventFd", NULL, ReaderEventFd, NULL, NULL, NULL, napi_default, NULL},
      {"readerDrain", NULL, ReaderDrain, NULL, NULL, NULL, napi_default, NULL},
      {"readerStop", NULL, ReaderStop, NULL, NULL, NULL, napi_default, NULL},
      {"readerFast", NULL, ReaderFast, NULL, NULL, NULL, napi_default, NULL},
      {"readerLog", NULL, ReaderLog, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
