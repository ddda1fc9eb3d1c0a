#!/usr/bin/env python3
"""Prints the figures a benchmark records from an `lwm2m-fleet run` result file (JSON).

Percentiles are read from the HdrHistogram buckets stored in the file (value at the bucket's
lower bound, within the histogram's 3 significant digits).
"""
import argparse
import json


def percentile(histogram, fraction):
    """The smallest recorded value with at least `fraction` of the count at or below it, in ns."""
    total = histogram.get("count", 0)
    if total == 0:
        return 0.0
    wanted = fraction * total
    seen = 0
    for value, count in histogram["buckets"]:
        seen += count
        if seen >= wanted:
            return float(value)
    return float(histogram.get("maxNanoseconds", 0))


def milliseconds(nanoseconds):
    return f"{nanoseconds / 1e6:.3f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("result")
    parser.add_argument("--arrivals", action="store_true", help="per-stage target and achieved arrival rates, lateness")
    parser.add_argument("--loop-lag", action="store_true", help="event-loop lag percentiles")
    parser.add_argument("--operations", action="store_true", help="latency percentiles and failures per operation")
    arguments = parser.parse_args()
    with open(arguments.result) as file:
        result = json.load(file)
    metrics = result["metrics"]
    print(f"result {arguments.result}: {result.get('workers', 1)} worker(s), interrupted {result['interrupted']}")
    if arguments.arrivals:
        stages = metrics.get("stages", [])
        print("| stage | arrivals intended | started in the stage | achieved / target |")
        print("|---:|---:|---:|---:|")
        for index, stage in enumerate(stages):
            intended, started = stage["arrivalsIntended"], stage["arrivalsStarted"]
            ratio = f"{started / intended:.4f}" if intended else "-"
            print(f"| {index + 1} | {intended} | {started} | {ratio} |")
        lateness = metrics["arrivalLateness"]
        print("arrival lateness: p50 {} p99 {} p999 {} max {}".format(
            milliseconds(percentile(lateness, 0.5)), milliseconds(percentile(lateness, 0.99)),
            milliseconds(percentile(lateness, 0.999)), milliseconds(lateness.get("maxNanoseconds", 0))))
    if arguments.loop_lag:
        lag = metrics["loopLag"]
        print("loop lag ({} probes): p50 {} p99 {} p999 {} max {}".format(
            lag["count"], milliseconds(percentile(lag, 0.5)), milliseconds(percentile(lag, 0.99)),
            milliseconds(percentile(lag, 0.999)), milliseconds(lag.get("maxNanoseconds", 0))))
    if arguments.operations:
        print("| operation | count | succeeded | failed | timeouts | p50 | p99 | p999 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, operation in sorted(metrics["operations"].items()):
            latency = operation["latency"]
            print(f"| {name} | {operation['count']} | {operation['succeeded']} | {operation['failed']} | "
                  f"{operation['timeouts']} | {milliseconds(percentile(latency, 0.5))} | "
                  f"{milliseconds(percentile(latency, 0.99))} | {milliseconds(percentile(latency, 0.999))} |")
    for threshold in result.get("thresholds", []):
        print(f"{'PASS' if threshold['passed'] else 'FAIL'}  {threshold['expression']}  (observed {threshold['observed']})")


if __name__ == "__main__":
    main()
