/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/liota.h - the liotad SDK: what a device driver or a DCC (data-center
 * component) sees of the daemon. It includes every header of the SDK; a
 * source file may include only those it needs:
 *
 *   liota/abi.h      LT_SDK_ABI, the version of the binary interface
 *   liota/alloc.h    allocation with the daemon's out-of-memory policy
 *   liota/counter.h  counters shared between threads (lt_count() ...)
 *   liota/dcc.h      DCCs, their counters and struct lt_dcc_driver
 *   liota/device.h   devices, metrics, lt_emit() and struct lt_device_driver
 *   liota/entity.h   what a DCC registers: edge system, devices, metrics
 *   liota/error.h    error conventions and lt_errf()
 *   liota/log.h      logging with the journal's DEVICE=, METRIC=, DCC= fields
 *   liota/mqtt.h     the MQTT transport that package transport-mqtt serves
 *   liota/parse.h    parsing of option values (numbers, durations, booleans)
 *   liota/sample.h   struct lt_sample
 *   liota/state.h    files kept across restarts (lt_state_path())
 *   liota/time.h     clocks in nanoseconds, lt_mono_to_real()
 *   liota/ws.h       the WebSocket transport that package transport-ws serves
 *
 * liota's six abstractions map to the SDK as follows:
 *   EdgeSystem -> the edge entity registered first with every DCC
 *   Device     -> struct lt_device       (read through a struct lt_device_driver)
 *   DeviceComms-> struct lt_device_driver
 *   Metric     -> struct lt_metric
 *   DCCComms   -> the transport a DCC driver owns (TCP, file, ...)
 *   DCC        -> struct lt_dcc, driven by a struct lt_dcc_driver
 *
 * Every header is self-contained, C11 and C++11 alike (plain C types only),
 * and declares only functions the liotad executable exports under the
 * symbol version LIOTAD_SDK_<LT_SDK_ABI>; see liota/error.h for how every
 * function reports failures, and each header for thread and callback
 * context.
 */
#ifndef LIOTA_LIOTA_H
#define LIOTA_LIOTA_H

#include <liota/abi.h>
#include <liota/alloc.h>
#include <liota/counter.h>
#include <liota/dcc.h>
#include <liota/device.h>
#include <liota/entity.h>
#include <liota/error.h>
#include <liota/log.h>
#include <liota/mqtt.h>
#include <liota/options.h>
#include <liota/package.h>
#include <liota/parse.h>
#include <liota/sample.h>
#include <liota/state.h>
#include <liota/stream.h>
#include <liota/time.h>
#include <liota/ws.h>

#endif /* LIOTA_LIOTA_H */
