#!/usr/bin/env python3
"""A simulated LwM2M device fleet written the way a Python user would: asyncio and aiocoap.

What it measures: how many LwM2M registrations per second, and per CPU-second, one Python
process can drive when every simulated device is its own aiocoap client context (its own
UDP socket), and how much memory each such device costs. It is the "what a user would pick
instead" side of benchmarks/alternatives/compare.sh (issue 8, item 5).

Every device repeats, as fast as the server answers, the bootstrap-free registration cycle
of LwM2M 1.1 TS Core 6.2:

    Register    CON POST /rd?ep=NAME&lt=LIFETIME&lwm2m=1.1&b=U  (link-format payload)  -> 2.01 + Location-Path
    Update      CON POST /<location>                            (empty payload)       -> 2.04
    De-register CON DELETE /<location>                                                -> 2.02

All contexts are opened first; then devices start at --ramp-rate a second (so the server's
socket buffer is not flooded by thousands of first Registers at once). Once all are cycling and --warmup
seconds have passed, a window of --seconds is measured: completed operations, failures,
timeouts, retransmissions, request latency, and the CPU time (user+sys) of this process.
Then devices finish their cycle (so the server is left clean) and the contexts are shut
down, each step bounded in time. The result is one JSON object on stdout.

Memory: VmRSS from /proc/self/status before any context exists, and again at the end of
the window with all devices active; per device = (active - start) / devices started.
"""

import argparse
import asyncio
import gc
import importlib.metadata
import json
import resource
import sys
import time

import aiocoap
from aiocoap import Code, Message
from aiocoap.messagemanager import MessageManager

# Link-format content format (RFC 6690), as LwM2M requires for the Register payload.
LINK_FORMAT = 40


def resident_set_kib():
    """VmRSS of this process in KiB, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmRSS line")


def cpu_seconds():
    """(user, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class Counters:
    """Operation outcomes, counted from the start; the window is the difference of two snapshots."""

    FIELDS = ("registrations", "updates", "deregistrations", "failures", "timeouts", "retransmissions")

    def __init__(self):
        for field in self.FIELDS:
            setattr(self, field, 0)
        # Request latencies (seconds) recorded only while `recording` is set: the window's.
        self.recording = False
        self.latencies = []
        # What failed, over the whole run: exception names and unexpected response codes.
        self.failure_kinds = {}

    def fail(self, kind):
        self.failures += 1
        self.failure_kinds[kind] = self.failure_kinds.get(kind, 0) + 1

    def snapshot(self):
        return {field: getattr(self, field) for field in self.FIELDS}


def count_retransmissions(counters):
    """Counts aiocoap's CON retransmissions.

    aiocoap reports them only through an INFO log line; turning INFO logging on would make
    every other log call of the library build a record and slow the side being measured. So
    the private retransmit method is wrapped instead: the wrapper runs only when a
    retransmission is due, never on the normal path.
    """
    original = MessageManager._retransmit

    def retransmit(self, message, timeout, retransmission_counter):
        if retransmission_counter < message.transport_tuning.MAX_RETRANSMIT:
            counters.retransmissions += 1
        return original(self, message, timeout, retransmission_counter)

    MessageManager._retransmit = retransmit


class Device:
    """One simulated device: one aiocoap client context, cycling Register / Update / De-register."""

    def __init__(self, context, name, arguments, counters):
        self.context = context
        self.name = name
        self.arguments = arguments
        self.counters = counters
        self.base_uri = f"coap://{arguments.server}"
        self.register_uri = (
            f"{self.base_uri}/rd?ep={name}&lt={arguments.lifetime}&lwm2m=1.1&b=U"
        )

    async def request(self, message, expected_code):
        """Sends one request and waits for its response, at most --request-timeout seconds.

        Returns the response, or None after counting a failure or a timeout.
        """
        started = time.monotonic()
        pending = self.context.request(message)
        try:
            response = await asyncio.wait_for(pending.response, self.arguments.request_timeout)
        except asyncio.TimeoutError:
            self.counters.timeouts += 1
            return None
        except aiocoap.error.Error as error:
            # Retransmissions exhausted, network error, ...: the library's own failure.
            self.counters.fail(f"{type(error).__name__}: {error}")
            return None
        if response.code != expected_code:
            self.counters.fail(f"{message.code} answered {response.code}")
            return None
        if self.counters.recording:
            self.counters.latencies.append(time.monotonic() - started)
        return response

    async def cycle_until(self, stop):
        """Runs whole cycles until `stop` is set; a cycle in progress is finished first."""
        while not stop.is_set():
            registered = await self.request(
                Message(
                    code=Code.POST,
                    uri=self.register_uri,
                    content_format=LINK_FORMAT,
                    payload=self.arguments.payload.encode(),
                ),
                Code.CREATED,
            )
            if registered is None:
                # Back off a little so a failing server is not hammered by every device at once.
                await asyncio.sleep(1.0)
                continue
            self.counters.registrations += 1
            location = "/".join(registered.opt.location_path)
            location_uri = f"{self.base_uri}/{location}"
            if await self.request(Message(code=Code.POST, uri=location_uri), Code.CHANGED) is None:
                await asyncio.sleep(1.0)
                continue
            self.counters.updates += 1
            if await self.request(Message(code=Code.DELETE, uri=location_uri), Code.DELETED) is None:
                await asyncio.sleep(1.0)
                continue
            self.counters.deregistrations += 1


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


async def run(arguments):
    counters = Counters()
    count_retransmissions(counters)
    stop = asyncio.Event()
    rss_start_kib = resident_set_kib()
    started = time.monotonic()
    hard_deadline = started + arguments.hard_limit

    # Contexts first, all of them: opening one sends nothing, and once devices are cycling the
    # loop is saturated, so contexts opened between their requests would take a minute to ramp.
    contexts = []
    context_failures = 0
    for index in range(arguments.devices):
        if time.monotonic() > hard_deadline:
            break
        try:
            contexts.append(await aiocoap.Context.create_client_context())
        except OSError as error:
            # Out of file descriptors or ports: counted, and the fleet is smaller than asked.
            context_failures += 1
            print(f"context {index}: {error}", file=sys.stderr)
    contexts_seconds = time.monotonic() - started
    # Python's cyclic collector makes aiocoap slower per request as the device count grows (its
    # full passes scan every live object); these are the tunings a user might try, for FINDINGS.md.
    if arguments.gc == "freeze":
        gc.freeze()
    elif arguments.gc == "disable":
        gc.disable()

    # Then the devices start at --ramp-rate a second, so their first Registers do not reach the
    # server's socket buffer all at once.
    async def start_later(device, delay):
        await asyncio.sleep(delay)
        await device.cycle_until(stop)

    tasks = []
    for index, context in enumerate(contexts):
        device = Device(context, f"{arguments.endpoint_prefix}{index:06d}", arguments, counters)
        tasks.append(asyncio.create_task(start_later(device, index / arguments.ramp_rate)))
    await asyncio.sleep(len(contexts) / arguments.ramp_rate)
    ramp_seconds = time.monotonic() - started

    await asyncio.sleep(arguments.warmup)
    before = counters.snapshot()
    cpu_before = cpu_seconds()
    gc_before = gc.get_stats()[2]["collections"]
    window_started = time.monotonic()
    counters.recording = True
    await asyncio.sleep(arguments.seconds)
    counters.recording = False
    window_seconds = time.monotonic() - window_started
    cpu_after = cpu_seconds()
    cpu_user = cpu_after[0] - cpu_before[0]
    cpu_system = cpu_after[1] - cpu_before[1]
    cpu_window = cpu_user + cpu_system
    gc_after = gc.get_stats()[2]["collections"]
    after = counters.snapshot()
    rss_active_kib = resident_set_kib()

    # Let every device finish its cycle (deregistering), bounded in time; then close the contexts.
    stop.set()
    _, unfinished = await asyncio.wait(tasks, timeout=arguments.drain_timeout)
    for task in unfinished:
        task.cancel()
    if unfinished:
        await asyncio.wait(unfinished, timeout=5)
    shutdowns = [asyncio.create_task(context.shutdown()) for context in contexts]
    if shutdowns:
        _, unclosed = await asyncio.wait(shutdowns, timeout=arguments.drain_timeout)
        for task in unclosed:
            task.cancel()

    latencies = sorted(counters.latencies)
    window = {field: after[field] - before[field] for field in Counters.FIELDS}
    return {
        "generator": "aiocoap",
        "aiocoap_version": importlib.metadata.version("aiocoap"),
        "python_version": sys.version.split()[0],
        "gc": arguments.gc,
        "devices": arguments.devices,
        "devices_started": len(contexts),
        "context_failures": context_failures,
        "contexts_seconds": round(contexts_seconds, 3),
        "ramp_seconds": round(ramp_seconds, 3),
        "full_garbage_collections": gc_after - gc_before,
        "seconds": round(window_seconds, 3),
        **window,
        "registrations_per_second": window["registrations"] / window_seconds,
        "cpu_seconds": round(cpu_window, 3),
        "cpu_system_seconds": round(cpu_system, 3),
        "registrations_per_cpu_second": window["registrations"] / cpu_window if cpu_window > 0 else None,
        "latency_p50_ms": None if not latencies else round(1000 * percentile(latencies, 0.50), 3),
        "latency_p99_ms": None if not latencies else round(1000 * percentile(latencies, 0.99), 3),
        "unfinished_devices_at_stop": len(unfinished),
        "failure_kinds_whole_run": counters.failure_kinds,
        "rss_start_kib": rss_start_kib,
        "rss_active_kib": rss_active_kib,
        "rss_per_device_bytes": round(1024 * (rss_active_kib - rss_start_kib) / max(len(contexts), 1)),
    }


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="HOST:PORT of the LwM2M Server (loopback)")
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20, help="length of the measured window")
    parser.add_argument("--warmup", type=float, default=5, help="seconds between the end of the ramp and the window")
    parser.add_argument("--ramp-rate", type=float, default=500, help="contexts created per second")
    parser.add_argument("--lifetime", type=int, default=60, help="lt of the Register, seconds")
    parser.add_argument("--payload", default="</1/0>,</3/0>", help="Register payload (link-format)")
    parser.add_argument("--endpoint-prefix", default="aio-")
    parser.add_argument("--gc", choices=["default", "freeze", "disable"], default="default",
                        help="garbage collector once the contexts are open: as Python sets it, gc.freeze(), or gc.disable()")
    parser.add_argument("--request-timeout", type=float, default=10, help="seconds before a request counts as timed out")
    parser.add_argument("--drain-timeout", type=float, default=15, help="seconds for devices to finish and contexts to close")
    parser.add_argument("--hard-limit", type=float, default=60, help="seconds after which no more contexts open")
    arguments = parser.parse_args()
    if not arguments.server.startswith("127.0.0.1:"):
        parser.error("--server must be on 127.0.0.1: all traffic stays on loopback")
    return arguments


def main():
    arguments = parse_arguments()
    result = asyncio.run(run(arguments))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
