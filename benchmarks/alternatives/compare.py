#!/usr/bin/env python3
"""lwm2m-fleet against an asyncio + aiocoap fleet, same run, same embedded server (issue 8, item 5).

What it measures, for both generators doing the bootstrap-free Register / Update /
De-register cycle against one `lwm2m-fleet serve` (started by compare.sh, address given
with --server):

- registrations per second, and registrations per CPU-second (user+sys) of the generator
  process(es): "per core". The server is shared and may cap the absolute rate, so rate per
  core is the figure to compare, not the absolute rate.
- memory per device: for aiocoap, (VmRSS with all devices active - VmRSS before the first
  context) / devices, as aiocoap_fleet.py reports it; for lwm2m-fleet, the growth of VmRSS per
  process from a 100-device run of the same length to the measured run, per added device (the
  device array is allocated before the loop starts, so there is no "before" inside one run).

aiocoap runs at increasing device counts until one is not sustained: a failure or timeout,
fewer devices started than asked, registrations per CPU-second under half the best so far
(collapse),
or a p99 request latency over CoAP's ACK_TIMEOUT (2 s: the generator, not the network, holds
requests longer than a real device would wait before retransmitting). The largest sustained
count is the one compared. lwm2m-fleet then runs at that count and at each --ours-higher count;
a run of it counts as sustained when no operation failed and the Update still fits in the
cycle (at least 0.9 per registration).

lwm2m-fleet runs the cycle as its fleet file can say it (--ours-modes, default cycle):
- cycle: N devices arrive, each with `session: 600ms`, `session-repeat: true` and a 1 s
  lifetime: Register, Update after 0.5 s, De-register after 0.6 s, Register again at once on the
  same socket with the same endpoint name, and so on: aiocoap's cycle, paced by the device's
  own timers instead of back to back. N devices throughout, so its RSS gives the memory per
  device.
- churn: N devices arrive, then `churn: 100%/s` deregisters every registered device at each
  one-second tick and brings it back (a new client on a new socket) at the next; a 1 s
  lifetime makes it Update 0.5 s after each registration. N devices throughout, so its RSS
  gives the memory per device.
- sessions: N new devices arrive every second, each with `session: 1s` and a 1 s lifetime:
  Register, Update after 0.5 s, De-register after 1 s, socket closed. About N devices are
  online at once and arrivals are spread evenly (churn moves all devices at the tick). Every
  arrival has its device struct from the start, so no memory figure comes from it.
Runs above MAX_DEVICES_PER_PROCESS are split over independent `lwm2m-fleet run` processes
(one fleet file each, own endpoint prefixes). A markdown table goes to stdout; every run's raw output is kept under --log-dir.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# `lwm2m-fleet run` refuses more sockets online at once than the soft fd limit - 64 (20,000
# here): one per device that does not bootstrap (since commit fc2b9ba), and with sessions it
# counts the arrivals of (session + 2 s), so 3 s of arrivals.
MAX_DEVICES_PER_PROCESS = {"cycle": 19_900, "churn": 19_900, "sessions": 6_600}
# Modes whose device population is steady, so that RSS per added device means something.
STEADY_MODES = ("cycle", "churn")
# Devices of the lwm2m-fleet run that gives the per-process RSS baseline.
BASELINE_DEVICES = 100
# CoAP ACK_TIMEOUT (RFC 7252 4.8), in milliseconds.
ACK_TIMEOUT_MS = 2_000


def log(text):
    print(text, file=sys.stderr, flush=True)


# MARK: aiocoap


def run_aiocoap(arguments, devices, gc_mode="default"):
    """One aiocoap_fleet.py run; its JSON result."""
    command = [
        sys.executable, os.path.join(HERE, "aiocoap_fleet.py"), "--server", arguments.server,
        "--devices", str(devices), "--seconds", str(arguments.seconds), "--warmup", str(arguments.warmup),
        "--ramp-rate", str(arguments.aiocoap_ramp_rate), "--payload", arguments.payload, "--gc", gc_mode,
    ]
    name = f"aiocoap-{devices}" + ("" if gc_mode == "default" else f"-gc-{gc_mode}")
    log(f"aiocoap: {devices} devices (gc {gc_mode})")
    with open(os.path.join(arguments.log_dir, f"{name}.stderr"), "w") as stderr:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=arguments.run_timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"aiocoap_fleet.py exited with {completed.returncode}; see {arguments.log_dir}/{name}.stderr")
    result = json.loads(completed.stdout)
    with open(os.path.join(arguments.log_dir, f"{name}.json"), "w") as out:
        json.dump(result, out, indent=2)
    log(f"  {result['registrations_per_second']:.0f} registrations/s, {result['registrations_per_cpu_second']:.0f} per CPU-s, "
        f"failures {result['failures']} timeouts {result['timeouts']} retransmissions {result['retransmissions']}, "
        f"latency p99 {result['latency_p99_ms']} ms, {result['rss_per_device_bytes']} B/device")
    return result


def sustain_problems(result, best_rate):
    problems = []
    if result["failures"] or result["timeouts"]:
        problems.append(f"{result['failures']} failures, {result['timeouts']} timeouts")
    if result["devices_started"] < result["devices"]:
        problems.append(f"only {result['devices_started']} devices started")
    # Per CPU-second, not per second: on a shared machine the absolute rate follows the CPU share.
    if result["registrations_per_cpu_second"] < 0.5 * best_rate:
        problems.append(f"{result['registrations_per_cpu_second']:.0f} registrations per CPU-s, under half the best {best_rate:.0f}")
    if (result["latency_p99_ms"] or 0) > ACK_TIMEOUT_MS:
        problems.append(f"latency p99 {result['latency_p99_ms']:.0f} ms over ACK_TIMEOUT")
    return problems


def largest_sustained_aiocoap(arguments):
    """Runs aiocoap at each count until one is not sustained; returns (sustained results, all results)."""
    sustained = []
    tried = []
    best_rate = 0.0
    for devices in arguments.aiocoap_counts:
        result = run_aiocoap(arguments, devices)
        tried.append(result)
        problems = sustain_problems(result, best_rate)
        if problems:
            log(f"  not sustained: {'; '.join(problems)}")
            result["not_sustained"] = "; ".join(problems)
            # Past the count where it collapses, more devices only make it worse: stop here.
            break
        best_rate = max(best_rate, result["registrations_per_cpu_second"])
        sustained.append(result)
    return sustained, tried


# MARK: lwm2m-fleet


def process_cpu_seconds(pid):
    """(user, system) CPU seconds of one process, from /proc/PID/stat ((0, 0) if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def process_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def fleet_file(server, mode, devices, prefix, warmup_seconds, window_seconds, arrival_rate):
    """The fleet file of one run, and the progress lines that bracket its window."""
    if mode in STEADY_MODES:
        # Arrivals spread over `arrival_seconds` (the server's socket buffer is not flooded), then
        # the cycle. cycle: every device cycles on its own socket, by its session. churn: 100%/s
        # sends every registered device away at each tick and back at the next; lifetime 1s
        # makes it Update 0.5 s after registering.
        arrival_seconds = max(1, math.ceil(devices / arrival_rate))
        count = devices
        churn = ", churn: 100%/s" if mode == "churn" else ""
        stages = (f"  - {{ duration: {arrival_seconds}s, rate: {math.ceil(devices / arrival_seconds)}/s }}\n"
                  f"  - {{ duration: {warmup_seconds + window_seconds + 2}s, hold: true{churn} }}\n")
        session = "    session: 600ms\n    session-repeat: true\n" if mode == "cycle" else ""
        first_line = arrival_seconds + warmup_seconds
    else:
        # `devices` new devices a second, each online for one cycle of about a second.
        duration = warmup_seconds + window_seconds + 2
        count = devices * duration
        stages = f"  - {{ duration: {duration}s, rate: {devices}/s }}\n"
        session = "    session: 1s\n"
        first_line = warmup_seconds
    text = f"""# written by benchmarks/alternatives/compare.py ({mode})
seed: 8
duration-limit: {first_line + window_seconds + 40}s
server: {{ server: coap://{server} }}
devices:
  - name: {prefix}
    count: {count}
    endpoint: "{prefix}-{{index:07}}"
    bootstrap: none
    lwm2m-version: "1.1"
    lifetime: 1s
    binding: U
{session}stages:
{stages}end: deregister
"""
    return text, first_line, first_line + window_seconds


PROGRESS_LINE = re.compile(r"(\d+)s stage \d+/\d+ arrivals")


class FleetProcess:
    """One `lwm2m-fleet run --workers 1`, sampled at two progress lines.

    The runner prints a progress line right after closing each one-second interval of its
    time series, so CPU sampled when line k arrives and when line k+W arrives brackets exactly
    the intervals k..k+W-1 (0-based) of the result file, whose counts give the operations.
    """

    def __init__(self, arguments, name, devices, first_line, last_line, spec_text):
        self.name = name
        self.devices = devices
        self.first_line = first_line
        self.last_line = last_line
        self.result_path = os.path.join(arguments.log_dir, f"{name}.json")
        spec_path = os.path.join(arguments.log_dir, f"{name}.yaml")
        with open(spec_path, "w") as spec:
            spec.write(spec_text)
        self.stderr_log = open(os.path.join(arguments.log_dir, f"{name}.stderr"), "w")
        self.stdout_path = os.path.join(arguments.log_dir, f"{name}.stdout")
        self.stdout_log = open(self.stdout_path, "w")
        self.process = subprocess.Popen(
            [arguments.binary, "run", spec_path, "--workers", "1", "--out", self.result_path],
            stdout=self.stdout_log, stderr=subprocess.PIPE, text=True)
        self.samples = {}
        self.lines_seen = 0
        self.reader = threading.Thread(target=self.follow, daemon=True)
        self.reader.start()

    def follow(self):
        pid = self.process.pid
        for line in self.process.stderr:
            self.stderr_log.write(line)
            if not PROGRESS_LINE.search(line):
                continue
            self.lines_seen += 1
            if self.lines_seen in (self.first_line, self.last_line):
                self.samples[self.lines_seen] = (process_cpu_seconds(pid), time.monotonic(), process_rss_kib(pid))

    def wait(self, deadline):
        """Waits for the run until `deadline`, then kills it; closes its logs either way."""
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.reader.join(timeout=5)
            self.stderr_log.close()
            self.stdout_log.close()

    def check(self):
        if self.process.returncode not in (0, 99) or self.last_line not in self.samples:
            raise RuntimeError(f"{self.name}: exit {self.process.returncode}, {self.lines_seen} progress lines "
                               "(-9: killed at --run-timeout)")

    def measured(self):
        with open(self.result_path) as file:
            metrics = json.load(file)["metrics"]
        series = metrics["timeSeries"]
        window = series[self.first_line:self.last_line]
        completed = {}
        for point in window:
            for operation, window in point["operations"].items():
                completed[operation] = completed.get(operation, 0) + window["count"]
        return {
            "seconds": (series[self.last_line - 1]["elapsedNanoseconds"] - series[self.first_line - 1]["elapsedNanoseconds"]) / 1e9,
            "registrations": completed.get("register", 0),
            "updates": completed.get("update", 0),
            "deregistrations": completed.get("deregister", 0),
            # Failed operations in the window, timeouts included.
            "failures": sum(w["failed"] for point in window for w in point["operations"].values()),
            "failed_whole_run": sum(operation["failed"] for operation in metrics["operations"].values()),
            "response_codes": {name: operation["responseCodes"] for name, operation in metrics["operations"].items()},
            # The result file counts retransmissions for the whole run only, arrivals and end included.
            "retransmissions": metrics["retransmissions"],
            "latency_p99_ms": max((point["operations"].get("register") or {}).get("latency", {}).get("percentiles", {}).get("p99") or 0
                                  for point in window) / 1e6,
            "loop_lag_p99_ms": self.loop_lag_p99_ms(),
            "cpu_seconds": sum(self.samples[self.last_line][0]) - sum(self.samples[self.first_line][0]),
            "cpu_system_seconds": self.samples[self.last_line][0][1] - self.samples[self.first_line][0][1],
            "rss_kib": self.samples[self.last_line][2],
        }

    def loop_lag_p99_ms(self):
        # The summary table printed on stdout has it computed from the histogram already.
        with open(self.stdout_path) as stdout:
            for line in stdout:
                if line.startswith("loop lag p99"):
                    return float(line.split()[3])
        return None


def run_ours(arguments, mode, devices, window_seconds, warmup_seconds):
    """lwm2m-fleet at `devices` in `mode` (churn or sessions), in as few processes as the CLI allows."""
    processes = math.ceil(devices / MAX_DEVICES_PER_PROCESS[mode])
    per_process = devices // processes
    log(f"lwm2m-fleet ({mode}): {devices} devices in {processes} process(es)")
    runs = []
    for index in range(processes):
        name = f"ours-{mode}-{devices}" + (f"-p{index}" if processes > 1 else "")
        spec, first_line, last_line = fleet_file(
            arguments.server, mode, per_process, f"fleet{index}", warmup_seconds, window_seconds, arguments.ours_arrival_rate)
        runs.append(FleetProcess(arguments, name, per_process, first_line, last_line, spec))
    deadline = time.monotonic() + arguments.run_timeout
    # Every process is waited for (and killed at the deadline) before any failure is reported.
    for run in runs:
        run.wait(deadline)
    for run in runs:
        run.check()
    parts = [run.measured() for run in runs]

    result = {"generator": f"lwm2m-fleet, {mode}", "mode": mode, "devices": per_process * processes, "processes": processes}
    for field in ("registrations", "updates", "deregistrations", "failures", "failed_whole_run", "retransmissions", "cpu_seconds",
                  "cpu_system_seconds", "rss_kib"):
        result[field] = sum(part[field] for part in parts)
    result["timeouts"] = 0  # counted in failures
    result["seconds"] = sum(part["seconds"] for part in parts) / processes
    result["registrations_per_second"] = result["registrations"] / result["seconds"]
    result["registrations_per_cpu_second"] = result["registrations"] / result["cpu_seconds"]
    result["latency_p99_ms"] = max(part["latency_p99_ms"] for part in parts)
    result["loop_lag_p99_ms"] = max(part["loop_lag_p99_ms"] or 0 for part in parts)
    result["process_rss_kib"] = [part["rss_kib"] for part in parts]
    result["response_codes"] = [part["response_codes"] for part in parts]
    with open(os.path.join(arguments.log_dir, f"ours-{mode}-{devices}.measured.json"), "w") as out:
        json.dump(result, out, indent=2)
    log(f"  {result['registrations_per_second']:.0f} registrations/s, {result['registrations_per_cpu_second']:.0f} per CPU-s, "
        f"failures {result['failures']} retransmissions {result['retransmissions']}, RSS {result['rss_kib']} KiB, "
        f"register p99 {result['latency_p99_ms']:.1f} ms, loop lag p99 {result['loop_lag_p99_ms']} ms")
    return result


# MARK: Report


def requests_per_cpu_second(result):
    requests = result["registrations"] + result["updates"] + result["deregistrations"]
    return requests / result["cpu_seconds"] if result["cpu_seconds"] > 0 else float("nan")


def table(rows):
    lines = [
        "| generator | devices | window s | registrations/s | updates per registration | failures + timeouts "
        "| retransmissions | p99 latency ms | generator CPU s (sys share) | CPU cores busy | registrations per CPU-s "
        "| requests per CPU-s | RSS per added device | sustained |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        label = row["generator"] + (f" ({row['processes']} processes)" if row.get("processes", 1) > 1 else "")
        lines.append(
            f"| {label} | {row['devices']:,} | {row['seconds']:.1f} | {row['registrations_per_second']:,.0f} "
            f"| {row['updates'] / max(row['registrations'], 1):.2f} | {row['failures'] + row['timeouts']} "
            f"| {row['retransmissions']} | {row['latency_p99_ms']:,.0f} "
            f"| {row['cpu_seconds']:.2f} ({row['cpu_system_seconds'] / row['cpu_seconds']:.0%}) "
            f"| {row['cpu_seconds'] / row['seconds']:.2f} | {row['registrations_per_cpu_second']:,.0f} "
            f"| {requests_per_cpu_second(row):,.0f} "
            f"| {'-' if row.get('rss_per_device_bytes') is None else format(row['rss_per_device_bytes'], ',') + ' B'} "
            f"| {'no: ' + row['not_sustained'] if 'not_sustained' in row else 'yes'} |")
    return "\n".join(lines)


def aiocoap_memory_per_device(sustained, tried):
    """Bytes per added device: the RSS slope from the previous count tried to the compared one.

    The same measure as lwm2m-fleet's (a slope), so fixed costs that appear after start-up
    (first requests, asyncio internals) are not charged to the devices; with one count only,
    aiocoap_fleet.py's (active - start) / devices.
    """
    compared = sustained[-1]
    index = tried.index(compared)
    if index == 0:
        return compared["rss_per_device_bytes"]
    previous = tried[index - 1]
    return round(1024 * (compared["rss_active_kib"] - previous["rss_active_kib"]) / (compared["devices"] - previous["devices"]))


def ours_sustain_problems(row):
    problems = []
    if row["failures"]:
        problems.append(f"{row['failures']} failures")
    # Registrations acknowledged later than 0.5 s leave no time for the Update before the next
    # tick's De-register: the cycle is then Register / De-register only, not the one compared.
    if row["updates"] < 0.9 * row["registrations"]:
        problems.append(f"{row['updates'] / max(row['registrations'], 1):.2f} updates per registration")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="lwm2m-fleet release binary")
    parser.add_argument("--server", required=True, help="127.0.0.1:PORT of the running `lwm2m-fleet serve`")
    parser.add_argument("--aiocoap-counts", default="1000,2000,5000,10000",
                        help="device counts to try for aiocoap, increasing")
    parser.add_argument("--ours-higher", default="10000",
                        help="extra lwm2m-fleet counts, run when above aiocoap's")
    parser.add_argument("--seconds", type=int, default=20,
                        help="measured window of every run; even, as lwm2m-fleet's cycle takes two ticks")
    parser.add_argument("--warmup", type=int, default=5, help="seconds between the end of arrivals and the window")
    parser.add_argument("--aiocoap-ramp-rate", type=float, default=1000, help="aiocoap devices started per second")
    parser.add_argument("--ours-arrival-rate", type=int, default=5000, help="lwm2m-fleet arrivals per second")
    parser.add_argument("--payload", default='</>;rt="oma.lwm2m",</1>;ver=1.2,</1/0>,</3>;ver=1.2,</3/0>',
                        help="aiocoap's Register payload: by default the one lwm2m-fleet devices send")
    parser.add_argument("--ours-modes", default="cycle",
                        help="lwm2m-fleet modes to run, comma-separated: cycle, churn, sessions")
    parser.add_argument("--run-timeout", type=float, default=150, help="seconds any single run may take")
    parser.add_argument("--log-dir", default=os.path.join(HERE, ".runs"))
    arguments = parser.parse_args()
    if arguments.seconds % 2:
        parser.error("--seconds must be even: lwm2m-fleet devices register every other tick")
    arguments.aiocoap_counts = [int(count) for count in arguments.aiocoap_counts.split(",")]
    arguments.ours_higher = [int(count) for count in arguments.ours_higher.split(",") if count]
    arguments.ours_modes = [mode for mode in arguments.ours_modes.split(",") if mode]
    if not arguments.ours_modes or any(mode not in MAX_DEVICES_PER_PROCESS for mode in arguments.ours_modes):
        parser.error(f"--ours-modes: choose from {', '.join(MAX_DEVICES_PER_PROCESS)}")
    os.makedirs(arguments.log_dir, exist_ok=True)

    # Other work on the machine shares the cores and the sandbox's network stack: say how busy it was.
    load_before = open("/proc/loadavg").read().split()[:3]
    sustained, tried = largest_sustained_aiocoap(arguments)
    if not sustained:
        raise SystemExit(f"aiocoap sustained none of {arguments.aiocoap_counts}; see {arguments.log_dir}")
    theirs = dict(sustained[-1])
    theirs["rss_per_device_bytes"] = aiocoap_memory_per_device(sustained, tried)

    # As long as the measured runs: what grows with the run's length (the once-a-second time series)
    # is then in both and cancels out of the growth per added device.
    baseline = run_ours(arguments, "cycle", BASELINE_DEVICES, window_seconds=arguments.seconds, warmup_seconds=arguments.warmup)
    rows = [theirs]
    counts = sorted({theirs["devices"], *(count for count in arguments.ours_higher if count > theirs["devices"])})
    for mode in arguments.ours_modes:
        for devices in counts:
            ours = run_ours(arguments, mode, devices, window_seconds=arguments.seconds, warmup_seconds=arguments.warmup)
            ours["rss_per_device_bytes"] = None
            if mode in STEADY_MODES:
                # Per process, the growth over a 100-device process, per added device.
                added_kib = sum(rss - baseline["rss_kib"] for rss in ours["process_rss_kib"])
                added_devices = ours["devices"] - BASELINE_DEVICES * ours["processes"]
                ours["rss_per_device_bytes"] = round(1024 * added_kib / added_devices)
            problems = ours_sustain_problems(ours)
            if problems:
                ours["not_sustained"] = "; ".join(problems)
            rows.append(ours)
    memory = next((row for row in rows[1:] if row["devices"] == theirs["devices"] and row["rss_per_device_bytes"]), None)
    # The same measure on both sides: RSS slope between the two counts aiocoap's slope uses.
    compared_index = tried.index(sustained[-1])
    slope_line = None
    steady = next((mode for mode in arguments.ours_modes if mode in STEADY_MODES), None)
    same_count = next((row for row in rows[1:] if row["devices"] == theirs["devices"] and row["mode"] == steady), None)
    if compared_index > 0 and steady and same_count and same_count["processes"] == 1:
        previous_count = tried[compared_index - 1]["devices"]
        previous = run_ours(arguments, steady, previous_count, window_seconds=arguments.seconds, warmup_seconds=arguments.warmup)
        if previous["processes"] == 1:
            ours_slope = round(1024 * (same_count["rss_kib"] - previous["rss_kib"]) / (theirs["devices"] - previous_count))
            slope_line = (f"Memory by the same measure on both sides (RSS slope from {previous_count:,} to {theirs['devices']:,} devices): "
                          f"aiocoap {theirs['rss_per_device_bytes']:,} B, lwm2m-fleet ({steady}) {ours_slope:,} B per device: "
                          f"{theirs['rss_per_device_bytes'] / max(ours_slope, 1):.1f}x.")

    print(f"Same server process (`lwm2m-fleet serve` at {arguments.server}), loopback, window {arguments.seconds} s after "
          f"{arguments.warmup} s of warm-up; load average {' '.join(load_before)} before, "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])} after. aiocoap counts tried: "
          + ", ".join(f"{r['devices']:,}" + (f" (not sustained: {r['not_sustained']})" if "not_sustained" in r else "") for r in tried)
          + ".\n")
    print(table(rows))
    print()
    print("| ours / aiocoap | devices | registrations per CPU-s | requests per CPU-s | memory per device (aiocoap / ours) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows[1:]:
        label = row["generator"] + (", same count" if row["devices"] == theirs["devices"] else ", higher count")
        if "not_sustained" in row:
            label += " (cycle not sustained)"
        # Sessions keep no steady population to measure: a steady mode's row at the same count stands for them.
        own_memory = row["rss_per_device_bytes"] or (memory and memory["rss_per_device_bytes"])
        print(f"| {label} | {row['devices']:,} | {row['registrations_per_cpu_second'] / theirs['registrations_per_cpu_second']:.1f}x "
              f"| {requests_per_cpu_second(row) / requests_per_cpu_second(theirs):.1f}x "
              f"| {theirs['rss_per_device_bytes'] / own_memory:.1f}x |")
    if slope_line:
        print()
        print(slope_line)
    print()
    print("Rate per core = registrations per CPU-second (user+sys) of the generator process(es) over the window: the "
          "server is shared, so the absolute rate may be the server's limit, not the generator's. aiocoap cycles each "
          "device back to back; lwm2m-fleet devices cycle every 0.6 s on their own socket (cycle), every two seconds "
          "(churn 100%/s), or N new devices arrive each second for one 1 s cycle (sessions), so its absolute rate is "
          "set by the device count. Requests = Register + Update + De-register. Memory: RSS slope per added device "
          f"(aiocoap between its last two counts; its (active - start) / devices is {sustained[-1]['rss_per_device_bytes']:,} B). "
          "Retransmissions: aiocoap in the window, lwm2m-fleet over the whole run. "
          "Goal (issue 8): at least 20x the registrations per CPU-second and at most 1/20 of the memory per device.")
    with open(os.path.join(arguments.log_dir, "summary.json"), "w") as out:
        json.dump({"aiocoap_tried": tried, "rows": rows, "ours_baseline": baseline}, out, indent=2)


if __name__ == "__main__":
    main()
