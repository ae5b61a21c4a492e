#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Capture every message of a broker to a file, one JSON object a line.

  mqtt_capture.py PORT OUT READY CLIENT_ID

A persistent session (clean_session false) with QoS 1 on "#": with the
broker's persistence, what the broker accepted while this subscriber was
away (a broker restart) comes after it reconnects, so that a missing
message is liotad's, not the capture's. READY is created once subscribed.
"""
import json
import sys

import paho.mqtt.client as mqtt

port, out, ready, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
f = open(out, "a", encoding="utf-8")


def on_connect(client, userdata, flags, rc):
    print("connected rc=%d session_present=%s" % (rc, flags.get("session present")), flush=True)
    if rc == 0:
        client.subscribe("#", qos=1)


def on_subscribe(client, userdata, mid, granted):
    open(ready, "w").close()


def on_message(client, userdata, msg):
    f.write(json.dumps({"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace")})
            + "\n")
    f.flush()


c = mqtt.Client(client_id=cid, clean_session=False, protocol=mqtt.MQTTv311)
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.max_inflight_messages_set(100)
c.reconnect_delay_set(min_delay=0.05, max_delay=0.3)
c.connect("127.0.0.1", port, keepalive=10)
c.loop_forever(retry_first_connection=True)
