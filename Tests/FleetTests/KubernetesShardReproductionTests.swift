import Fleet
import Foundation
import XCTest

/// The Indexed Job of deploy/kubernetes/ played on this machine: N processes of the built binary
/// through the Job's own shard.sh, each with JOB_COMPLETION_INDEX set as Kubernetes sets it, then
/// the merge Job's merge.sh over their parts; the merged counts are a single process's.
final class KubernetesShardReproductionTests: XCTestCase {
    private static let shards = 3
    private static let seed = "17"
    /// 60 devices with an embedded server per shard (per pod), all bootstrapping, registering and
    /// de-registering within a few seconds.
    private static let fleet = """
        server: embedded
        devices:
          - count: 60
            bootstrap: client-initiated
            lifetime: 300s
        stages:
          - { duration: 2s, rate: 30/s }
          - { duration: 1s, hold: true }
        thresholds:
          - register.failed.rate == 0
          - devices.unfinished == 0
        """

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("indexed-job-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    /// deploy/kubernetes/SCRIPT run by /bin/sh (the image's shell, dash on Debian) with the
    /// environment the Jobs give it, pointed at this test's files and binary.
    private func script(_ name: String, _ environment: [String: String], arguments: [String] = []) -> BoundedProcess {
        let path = KubernetesManifestTests.deploy.appendingPathComponent(name).path
        let common = ["SHARDS": "\(Self.shards)", "RESULTS": directory.path, "LWM2M_FLEET": ServeProcess.executable.path]
        return BoundedProcess(
            executable: URL(fileURLWithPath: "/bin/sh"), arguments: [path] + arguments,
            environment: common.merging(environment) { $1 })
    }

    func testShardsRunAsIndexedJobPodsMergeIntoTheCountsOfOneProcess() throws {
        let fleet = directory.appendingPathComponent("fleet.yaml").path
        try Self.fleet.write(toFile: fleet, atomically: true, encoding: .utf8)

        // The Job's pods, all at once (parallelism = completions).
        let pods = (0..<Self.shards).map { index in
            script("shard.sh", ["JOB_COMPLETION_INDEX": "\(index)", "SEED": Self.seed, "FLEET": fleet], arguments: ["--quiet"])
        }
        let shardRuns = try BoundedProcess.runTogether(pods, within: 45)
        for (index, run) in shardRuns.enumerated() {
            XCTAssertTrue(run.finishedInTime, "shard \(index) ran over 45 s")
            XCTAssertEqual(run.status, 0, "shard \(index): \(run.output)\(run.errors)")
        }
        for index in 0..<Self.shards {
            let part = try ResultFile.read(from: directory.appendingPathComponent("part-\(index).json").path)
            XCTAssertEqual(part.shard, ShardStripe(index: index, count: Self.shards), "pod \(index) did not run its own shard")
            XCTAssertEqual(part.metrics.arrivals, UInt64(60 / Self.shards), "pod \(index) ran \(part.metrics.arrivals) devices")
            XCTAssertEqual(part.seed, UInt64(Self.seed))
        }

        let merge = try script("merge.sh", [:]).run(within: 30)
        XCTAssertEqual(merge.status, 0, "\(merge.output)\(merge.errors)")
        XCTAssertFalse(merge.errors.contains("merge.sh:"), "merge.sh missed a part: \(merge.errors)")
        let merged = try ResultFile.read(from: directory.appendingPathComponent("result.json").path)
        XCTAssertNil(merged.shard, "the parts cover the whole fleet")
        XCTAssertFalse(merged.isPartial)

        let single = try BoundedProcess(
            executable: ServeProcess.executable,
            arguments: ["run", fleet, "--seed", Self.seed, "--quiet", "--out", directory.appendingPathComponent("single.json").path]
        ).run(within: 45)
        XCTAssertEqual(single.status, 0, "\(single.output)\(single.errors)")
        let whole = try ResultFile.read(from: directory.appendingPathComponent("single.json").path)

        XCTAssertEqual(whole.metrics.arrivals, 60)
        XCTAssertEqual(merged.metrics.arrivals, whole.metrics.arrivals)
        XCTAssertEqual(merged.metrics.stages.map(\.arrivalsIntended), whole.metrics.stages.map(\.arrivalsIntended))
        XCTAssertEqual(merged.metrics.stages.map(\.arrivalsStarted), whole.metrics.stages.map(\.arrivalsStarted))
        XCTAssertEqual(merged.metrics.droppedArrivals, whole.metrics.droppedArrivals)
        XCTAssertEqual(merged.metrics.unfinishedDevices, whole.metrics.unfinishedDevices)
        XCTAssertEqual(merged.metrics.devicesByState, whole.metrics.devicesByState)
        XCTAssertEqual(whole.metrics.value(for: "register.succeeded"), 60, "the single run is the reference: every device registered")
        XCTAssertEqual(Set(merged.metrics.operations.keys), Set(whole.metrics.operations.keys))
        for (name, operation) in whole.metrics.operations {
            let shardsOperation = merged.metrics.operations[name]
            XCTAssertEqual(shardsOperation?.count, operation.count, name)
            XCTAssertEqual(shardsOperation?.succeeded, operation.succeeded, name)
            XCTAssertEqual(shardsOperation?.failed, operation.failed, name)
            XCTAssertEqual(shardsOperation?.latency.count, operation.latency.count, "\(name): latency samples")
        }
        // Each pod's embedded server saw its shard; together, what the one server saw.
        for count in ["server.bootstraps", "server.registered", "server.deregistered"] {
            XCTAssertEqual(merged.metrics.value(for: count), whole.metrics.value(for: count), count)
            XCTAssertEqual(whole.metrics.value(for: count), 60, count)
        }
        XCTAssertEqual(merged.thresholds.map(\.passed), whole.thresholds.map(\.passed))

        // A pod that wrote nothing: merge.sh names it and merge refuses the set, as the merge Job
        // documents; --allow-partial merges the rest and never passes.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("part-1.json"))
        let refused = try script("merge.sh", [:]).run(within: 30)
        XCTAssertEqual(refused.status, RunExitStatus.invalidInput.rawValue, refused.output)
        XCTAssertTrue(refused.errors.contains("shard 1/\(Self.shards) wrote no result"), refused.errors)
        let partial = try script("merge.sh", [:], arguments: ["--allow-partial"]).run(within: 30)
        XCTAssertEqual(partial.status, RunExitStatus.endedEarly.rawValue, partial.errors)
        XCTAssertTrue(partial.output.contains("PARTIAL: missing shards 1/\(Self.shards)"), partial.output)
    }

    func testAPodWithoutItsIndexRunsNothing() throws {
        let fleet = directory.appendingPathComponent("fleet.yaml").path
        try Self.fleet.write(toFile: fleet, atomically: true, encoding: .utf8)
        // Outside an Indexed Job there is no JOB_COMPLETION_INDEX: running the whole fleet in
        // every pod instead would send N times the load.
        let pod = BoundedProcess(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: ["-u", "JOB_COMPLETION_INDEX", "/bin/sh", KubernetesManifestTests.deploy.appendingPathComponent("shard.sh").path],
            environment: ["SHARDS": "\(Self.shards)", "SEED": Self.seed, "FLEET": fleet, "RESULTS": directory.path, "LWM2M_FLEET": ServeProcess.executable.path])
        let run = try pod.run(within: 30)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.errors.contains("JOB_COMPLETION_INDEX"), run.errors)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["fleet.yaml"], "no part may be written")
    }
}
