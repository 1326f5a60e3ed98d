/* N-API argument and result helpers shared by the addon's files. Each throws a coded JS error and
 * returns 0 (or NULL) when the argument is not what the caller needs. */
#ifndef QOELAB_NAPI_UTIL_H
#define QOELAB_NAPI_UTIL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "QOELAB_TUN_NAPI", "N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

napi_value make_int(napi_env env, int64_t v);
napi_value make_double(napi_env env, double v);
/* The first `want` arguments into argv; throws QOELAB_TUN_ARGS when fewer came. */
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int get_i32(napi_env env, napi_value v, int32_t *out);
/* Bytes of a TypedArray (any element type) or Buffer. */
int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len);
int get_i32_array(napi_env env, napi_value v, int32_t **data, size_t *count);
/* The pointer behind a handle (an external); NULL after throwing QOELAB_TUN_ARGS with `expected`. */
void *get_external(napi_env env, napi_value v, const char *expected);

#endif
