/* The N-API functions of the qoelab_tun addon, registered by tun.c; grouped by the file that defines them. */
#ifndef QOELAB_TUN_H
#define QOELAB_TUN_H

#include <node_api.h>

#define TUN_FN(name) napi_value name(napi_env env, napi_callback_info info)

/* clock.c */
TUN_FN(NowUs);
TUN_FN(RealtimeUs);
TUN_FN(SetTimerSlack);
TUN_FN(SetRealtime);
/* tun-device.c */
TUN_FN(OpenTun);
TUN_FN(ReadBatch);
TUN_FN(Write);
TUN_FN(WriteBatch);
TUN_FN(Close);
TUN_FN(StrError);
/* watch.c */
TUN_FN(Watch);
TUN_FN(Timer);
TUN_FN(TimerArm);
TUN_FN(Unwatch);
/* sender.c */
TUN_FN(Sender);
TUN_FN(SenderSchedule);
TUN_FN(SenderDrain);
TUN_FN(SenderStop);
TUN_FN(SenderInfo);
/* reader.c */
TUN_FN(Reader);
TUN_FN(ReaderEventFd);
TUN_FN(ReaderDrain);
TUN_FN(ReaderStop);
/* fast-path.c */
TUN_FN(ReaderFast);
TUN_FN(ReaderLog);

#undef TUN_FN

#endif
