#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A faithful IoTCC peer for the integration tests (liota's protocol 20171118).

Over MQTT (paho, through a broker) it reads requests on liota/+/request (or
--request-topic) and answers on the same topic with "request" replaced by
"response"; over WebSocket (python3-websockets) it is the server, ws:// or
wss:// (--cert/--key, --client-ca to require a client certificate).

It answers create_or_find_resource_request with a stable uuid (uuid5 of
kind + "/" + name: a restarted client gets the same one), the other
requests with result "succeeded". Every message received, and every answer,
goes to --record as one JSON object per line:
  {"t": unix time, "dir": "in" | "out", "raw": text, "msg": parsed or null}

Misbehaviour on demand (TYPE is the request type without "_request"):
  --fail TYPE:N           answer the first N requests of TYPE with result "failed"
  --drop TYPE:N           never answer the first N requests of TYPE
  --delay TYPE:SECS:N     answer the first N requests of TYPE SECS late
  --junk                  after the first answer, send malformed, oversized,
                          unknown, wrong-version and unmatched messages
  --close-after N         (WebSocket) close the connection after N messages in
  --forge                 (MQTT) before answering each create_or_find_resource_request,
                          send forged answers with the uuid FORGED_UUID: one under
                          its transactionID but naming another entity, and one per
                          guessed transactionID 2, 4 ... 40 naming its entity
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import threading
import time
import uuid

NS = uuid.UUID("9b0fd5a4-7a1c-4a8e-8d1e-6f2d3c4b5a69")
VERSION = 20171118

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["mqtt", "ws"], required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--record", required=True)
ap.add_argument("--request-topic", default="liota/+/request")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--client-ca")
ap.add_argument("--fail", action="append", default=[])
ap.add_argument("--drop", action="append", default=[])
ap.add_argument("--delay", action="append", default=[])
ap.add_argument("--junk", action="store_true")
ap.add_argument("--close-after", type=int, default=0)
ap.add_argument("--forge", action="store_true")
a = ap.parse_args()

lock = threading.Lock()
rec = open(a.record, "a", buffering=1)


def record(direction, raw):
    try:
        msg = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        msg = None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    with lock:
        rec.write(json.dumps({"t": time.time(), "dir": direction, "raw": raw[:2000],
                              "msg": msg}) + "\n")


def counts(specs, with_secs=False):
    out = {}
    for s in specs:
        parts = s.split(":")
        if with_secs:
            out[parts[0]] = [float(parts[1]), int(parts[2])]
        else:
            out[parts[0]] = int(parts[1])
    return out


fail = counts(a.fail)
drop = counts(a.drop)
delay = counts(a.delay, True)
junk_sent = False


def answer(msg):
    """(response text or None, delay in seconds) for one request."""
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        return None, 0
    t = msg["type"]
    if not t.endswith("_request"):
        return None, 0
    base = t[: -len("_request")]
    body = msg.get("body") or {}
    rbody = {}
    with lock:
        if drop.get(base, 0) > 0:
            drop[base] -= 1
            return None, 0
        failing = fail.get(base, 0) > 0
        if failing:
            fail[base] -= 1
        late = 0
        if base in delay and delay[base][1] > 0:
            late = delay[base][0]
            delay[base][1] -= 1
    if failing:
        rbody = {"result": "failed"}
    elif base == "create_or_find_resource":
        rbody = {"uuid": str(uuid.uuid5(NS, "%s/%s" % (body.get("kind"), body.get("name")))),
                 "id": body.get("id"), "kind": body.get("kind"), "name": body.get("name")}
    else:
        rbody = {"result": "succeeded"}
    resp = {"transactionID": msg.get("transactionID"), "version": VERSION,
            "type": base + "_response", "body": rbody}
    return json.dumps(resp), late


FORGED_UUID = "f0f0f0f0-dead-4bee-8f00-000000000001"


def forged(msg):
    """Forged answers to a create_or_find_resource_request (a list of texts)."""
    if not a.forge or not isinstance(msg, dict) or \
            msg.get("type") != "create_or_find_resource_request":
        return []
    body = msg.get("body") or {}
    out = [{"transactionID": msg.get("transactionID"),
            "body": {"uuid": FORGED_UUID, "kind": body.get("kind"), "name": "forged-entity"}}]
    for tid in range(2, 42, 2):
        out.append({"transactionID": tid,
                    "body": {"uuid": FORGED_UUID, "id": body.get("id"),
                             "kind": body.get("kind"), "name": body.get("name")}})
    return [json.dumps(dict(o, version=VERSION, type="create_or_find_resource_response"))
            for o in out]


def junk():
    return [
        "this is not JSON",
        "{\"transactionID\": 7, \"version\": 20171118, \"type\": \"add_properties_response\"",
        json.dumps({"padding": "x" * 70000}),
        json.dumps({"transactionID": 5, "version": VERSION, "type": "action_request",
                    "body": {}}),
        json.dumps({"transactionID": 999998, "version": VERSION,
                    "type": "create_or_find_resource_response", "body": {"uuid": "u-1"}}),
        json.dumps({"transactionID": 2, "version": 20171023,
                    "type": "create_relationship_response", "body": {"result": "succeeded"}}),
        json.dumps({"transactionID": "2", "version": VERSION,
                    "type": "add_properties_response", "body": {"result": "succeeded"}}),
        "[" * 5000,
        json.dumps({"transactionID": 2 ** 80, "version": VERSION,
                    "type": "remove_resource_response", "body": {}}),
    ]


# ---- MQTT ---------------------------------------------------------------------
def run_mqtt():
    import paho.mqtt.client as mqtt

    c = mqtt.Client(client_id="iotcc-peer-%d" % os.getpid(), clean_session=True)

    def send(topic, text):
        record("out", text)
        c.publish(topic, text, qos=1)

    def on_connect(client, userdata, flags, rc):
        client.subscribe(a.request_topic, qos=1)

    def on_subscribe(client, userdata, mid, granted):
        print("ready", flush=True)

    def on_message(client, userdata, m):
        global junk_sent
        raw = m.payload.decode("utf-8", "replace")
        record("in", raw)
        try:
            msg = json.loads(raw)
        except ValueError:
            return
        text, late = answer(msg)
        topic = m.topic[: -len("request")] + "response" if m.topic.endswith("request") \
            else m.topic + "/response"
        for f in forged(msg):
            send(topic, f)
        if text is None:
            return
        if late:
            threading.Timer(late, send, (topic, text)).start()
        else:
            send(topic, text)
        if a.junk and not junk_sent:
            junk_sent = True
            for j in junk():
                send(topic, j)

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    c.connect(a.host, a.port, keepalive=30)
    c.loop_forever()


# ---- WebSocket -------------------------------------------------------------------
def run_ws():
    import websockets

    sslctx = None
    if a.cert:
        sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sslctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            sslctx.verify_mode = ssl.CERT_REQUIRED
            sslctx.load_verify_locations(a.client_ca)

    async def handler(ws, path):
        global junk_sent
        record("in", json.dumps({"connected": path}))
        n = 0
        async for raw in ws:
            n += 1
            record("in", raw)
            try:
                msg = json.loads(raw)
            except ValueError:
                msg = None
            text, late = answer(msg)
            if text is not None:
                async def later(t=text, d=late):
                    await asyncio.sleep(d)
                    record("out", t)
                    try:
                        await ws.send(t)
                    except websockets.ConnectionClosed:
                        pass
                if late:
                    asyncio.ensure_future(later())
                else:
                    record("out", text)
                    await ws.send(text)
                if a.junk and not junk_sent:
                    junk_sent = True
                    for j in junk():
                        record("out", j)
                        await ws.send(j)
                    await ws.send(b"\x00\x01binary")
            if a.close_after and n >= a.close_after:
                await ws.close()
                return

    async def main():
        async with websockets.serve(handler, a.host, a.port, ssl=sslctx, max_size=None):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())


if a.mode == "mqtt":
    run_mqtt()
else:
    run_ws()
