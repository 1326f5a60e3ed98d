/*
 * qoelab_rawsock: the raw sockets `qoelab send` needs and Node lacks (N-API, Linux).
 *
 *   open(kind, ifname, netnsPath|null) -> fd | -errno
 *       kind 4: AF_INET SOCK_RAW IPPROTO_RAW (we write the whole IPv4 header),
 *       kind 6: AF_INET6 SOCK_RAW IPPROTO_RAW (we write the whole IPv6 header),
 *       kind 0: AF_PACKET SOCK_RAW ETH_P_ALL bound to ifname ("" = every interface): sends whole
 *               frames and sees every frame in and out of the interface(s).
 *       Non-blocking, close-on-exec; created inside netnsPath (setns on this thread, then back).
 *   sendIp(fd, bytes, dstText) -> bytes sent | -errno      (kind 4/6: the destination address)
 *   sendFrame(fd, bytes) -> bytes sent | -errno            (kind 0, bound to one interface)
 *   recv(fd, buffer) -> [length, outgoing(0/1), sec, usec, hatype] | -errno (-EAGAIN: nothing yet)
 *   close(fd) -> 0 | -errno
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netns.h"

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "QOELAB_RAWSOCK_ARGS", "qoelab_rawsock: missing arguments");
    return 0;
  }
  return 1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "QOELAB_RAWSOCK_ARGS", "qoelab_rawsock: expected a number");
    return 0;
  }
  return 1;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  size_t length, offset;
  void *ptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "QOELAB_RAWSOCK_ARGS", "qoelab_rawsock: expected a Uint8Array");
    return 0;
  }
  *data = ptr;
  *len = length;
  return 1;
}

static int get_string(napi_env env, napi_value v, char *out, size_t size) {
  napi_valuetype t;
  size_t n = 0;
  out[0] = 0;
  napi_typeof(env, v, &t);
  if (t != napi_string) return 1;
  if (napi_get_value_string_utf8(env, v, out, size, &n) != napi_ok || n >= size - 1) {
    napi_throw_type_error(env, "QOELAB_RAWSOCK_ARGS", "qoelab_rawsock: string too long");
    return 0;
  }
  return 1;
}

static int open_here(int kind, const char *ifname) {
  int fd;
  if (kind == 4 || kind == 6) {
    fd = socket(kind == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) return -errno;
    if (ifname[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    return fd;
  }
  fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return -errno;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  if (ifname[0]) {
    sll.sll_ifindex = (int)if_nametoindex(ifname);
    if (sll.sll_ifindex == 0) {
      int e = errno ? errno : ENODEV;
      close(fd);
      return -e;
    }
  }
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

typedef struct {
  int kind;
  const char *ifname;
} sock_args_t;

static int open_in(void *arg) {
  sock_args_t *a = arg;
  return open_here(a->kind, a->ifname);
}

static napi_value Open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t kind;
  char ifname[IFNAMSIZ + 1];
  char path[512];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &kind) ||
      !get_string(env, argv[1], ifname, sizeof ifname) || !get_string(env, argv[2], path, sizeof path))
    return NULL;
  if (kind != 0 && kind != 4 && kind != 6) {
    napi_throw_type_error(env, "QOELAB_RAWSOCK_ARGS", "open: kind must be 0, 4 or 6");
    return NULL;
  }
  if (path[0] == 0) return make_int(env, open_here(kind, ifname));
  sock_args_t args = {kind, ifname};
  return make_int(env, in_netns(path, open_in, &args));
}

static napi_value SendIp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  uint8_t *data;
  size_t len;
  char dst[INET6_ADDRSTRLEN + 1];
  if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len) ||
      !get_string(env, argv[2], dst, sizeof dst))
    return NULL;
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  ssize_t sent;
  if (inet_pton(AF_INET, dst, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    sent = sendto(fd, data, len, 0, (struct sockaddr *)&a4, sizeof a4);
  } else if (inet_pton(AF_INET6, dst, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    sent = sendto(fd, data, len, 0, (struct sockaddr *)&a6, sizeof a6);
  } else {
    return make_int(env, -EINVAL);
  }
  return make_int(env, sent < 0 ? -errno : sent);
}

static napi_value SendFrame(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len))
    return NULL;
  ssize_t sent = send(fd, data, len, 0);
  return make_int(env, sent < 0 ? -errno : sent);
}

static napi_value Recv(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &len))
    return NULL;
  struct sockaddr_ll from;
  socklen_t fromlen = sizeof from;
  memset(&from, 0, sizeof from);
  ssize_t got = recvfrom(fd, data, len, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
  if (got < 0) return make_int(env, -errno);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  napi_value out;
  napi_create_array_with_length(env, 5, &out);
  napi_set_element(env, out, 0, make_int(env, got > (ssize_t)len ? (int64_t)len : got));
  napi_set_element(env, out, 1, make_int(env, from.sll_pkttype == PACKET_OUTGOING ? 1 : 0));
  napi_set_element(env, out, 2, make_int(env, tv.tv_sec));
  napi_set_element(env, out, 3, make_int(env, tv.tv_usec));
  napi_set_element(env, out, 4, make_int(env, from.sll_hatype));
  return out;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd)) return NULL;
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

static napi_value StrError(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t e;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &e)) return NULL;
  napi_value out;
  napi_create_string_utf8(env, strerror(e < 0 ? -e : e), NAPI_AUTO_LENGTH, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"sendIp", NULL, SendIp, NULL, NULL, NULL, napi_default, NULL},
      {"sendFrame", NULL, SendFrame, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, Recv, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"strerror", NULL, StrError, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
