import Fleet
import Foundation
import XCTest
import Yams

/// deploy/kubernetes/ and the Dockerfile, checked offline: the manifests against the Kubernetes
/// schemas, the Jobs against each other and against the CLI, the ConfigMap's fleet files with
/// `validate`, and the image's runtime stage against what the built binary loads.
final class KubernetesManifestTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let deploy = repository.appendingPathComponent("deploy/kubernetes")
    /// The oldest Kubernetes the manifests are for (backoffLimitPerIndex and FailIndex are on by
    /// default from 1.29), and the newest schemas kubernetes-validate has (its default).
    static let kubernetesVersions: [String?] = ["1.29.0", nil]

    private func manifests() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.deploy.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertFalse(names.isEmpty, "no manifests in \(Self.deploy.path)")
        return names.map { Self.deploy.appendingPathComponent($0) }
    }

    private func manifest(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOf: Self.deploy.appendingPathComponent(name), encoding: .utf8)
        return try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any], "\(name) is not one YAML mapping")
    }

    // MARK: Schemas

    func testEveryManifestPassesTheKubernetesSchemasStrictly() throws {
        let installed = try BoundedProcess.onPath("python3", ["-c", "import kubernetes_validate"]).run(within: 60)
        guard installed.status == 0 else {
            throw XCTSkip("kubernetes-validate is not installed (make deps installs it: python3 -m pip install kubernetes-validate)")
        }
        let files = try manifests()
        for version in Self.kubernetesVersions {
            let versionArguments = version.map { ["--kubernetes-version", $0] } ?? []
            let check = try BoundedProcess.onPath("python3", ["-m", "kubernetes_validate", "--strict"] + versionArguments + files.map(\.path))
                .run(within: 120)
            let printed = check.output + check.errors
            XCTAssertTrue(check.finishedInTime, "kubernetes-validate took over 120 s")
            XCTAssertEqual(check.status, 0, "against \(version ?? "its newest version"): \(printed)")
            // A kind it has no schema for is only a warning: every file must have been checked.
            for file in files {
                XCTAssertTrue(
                    printed.split(separator: "\n").contains { $0.contains(file.path) && $0.contains(" passed for resource ") },
                    "\(file.lastPathComponent) was not checked against a schema (\(version ?? "newest")): \(printed)")
            }
        }
    }

    // MARK: The Jobs against each other

    func testTheShardCountIsTheSameInBothJobs() throws {
        let shards = try manifest("shards-job.yaml")
        let merge = try manifest("merge-job.yaml")
        XCTAssertEqual(string(shards, "spec", "completionMode"), "Indexed", "pods get JOB_COMPLETION_INDEX only in an Indexed Job")
        let completions = try XCTUnwrap(shards["spec"].flatMap { ($0 as? [String: Any])?["completions"] as? Int })
        XCTAssertEqual(int(shards, "spec", "parallelism"), completions, "every shard must run at once: one that waits starts its schedule late")
        XCTAssertEqual(try environment(shards, container: "shard")["SHARDS"], "\(completions)")
        XCTAssertEqual(try environment(merge, container: "merge")["SHARDS"], "\(completions)", "merge.sh merges part-0 .. part-(SHARDS-1)")
        XCTAssertNotNil(try environment(shards, container: "shard")["SEED"], "shards without one seed cannot be merged")
    }

    func testNoShardRunsTwiceAndThresholdOrEarlyEndIsNotRetried() throws {
        let shards = try manifest("shards-job.yaml")
        XCTAssertEqual(string(shards, "spec", "template", "spec", "restartPolicy"), "Never", "a restarted container would run its shard again")
        XCTAssertEqual(int(shards, "spec", "backoffLimitPerIndex"), 0)
        let rules = try XCTUnwrap(value(shards, "spec", "podFailurePolicy", "rules") as? [[String: Any]])
        let containerNames = try containers(shards).compactMap { $0["name"] as? String }
        var actionByExitCode: [Int: String] = [:]
        for rule in rules {
            guard let exitCodes = rule["onExitCodes"] as? [String: Any] else { continue }
            // A rule for a container the pod does not have never applies.
            XCTAssertTrue(containerNames.contains(exitCodes["containerName"] as? String ?? ""), "\(rule) names no container of the pod (\(containerNames))")
            XCTAssertEqual(exitCodes["operator"] as? String, "In")
            for code in exitCodes["values"] as? [Int] ?? [] where actionByExitCode[code] == nil {
                actionByExitCode[code] = rule["action"] as? String
            }
        }
        // The run's exit statuses (RunExitStatus): each ends its index (or the Job), none retries.
        XCTAssertEqual(actionByExitCode[Int(RunExitStatus.thresholdFailed.rawValue)], "FailIndex")
        XCTAssertEqual(actionByExitCode[Int(RunExitStatus.endedEarly.rawValue)], "FailIndex")
        XCTAssertEqual(actionByExitCode[Int(RunExitStatus.invalidInput.rawValue)], "FailJob", "an invalid fleet file fails every shard alike")

        let merge = try manifest("merge-job.yaml")
        XCTAssertEqual(int(merge, "spec", "backoffLimit"), 0)
        XCTAssertEqual(string(merge, "spec", "template", "spec", "restartPolicy"), "Never")
    }

    func testTheJobsShareTheResultsVolumeAndTheShardsReadTheConfigMapsFleet() throws {
        let claim = try XCTUnwrap(string(try manifest("results-pvc.yaml"), "metadata", "name"))
        for (file, container) in [("shards-job.yaml", "shard"), ("merge-job.yaml", "merge")] {
            let job = try manifest(file)
            XCTAssertEqual(try volume(job, container: container, mountedAt: "/results")?["persistentVolumeClaim"].flatMap { ($0 as? [String: Any])?["claimName"] as? String }, claim, "\(file): /results is not the claim \(claim)")
        }
        let configMap = try manifest("fleet-configmap.yaml")
        let shards = try manifest("shards-job.yaml")
        let fleet = try XCTUnwrap(try environment(shards, container: "shard")["FLEET"])
        let directory = (fleet as NSString).deletingLastPathComponent
        let mounted = try XCTUnwrap(try volume(shards, container: "shard", mountedAt: directory), "nothing is mounted at \(directory)")
        XCTAssertEqual((mounted["configMap"] as? [String: Any])?["name"] as? String, string(configMap, "metadata", "name"))
        let keys = (configMap["data"] as? [String: Any])?.keys.sorted() ?? []
        XCTAssertTrue(keys.contains((fleet as NSString).lastPathComponent), "FLEET=\(fleet) is not a key of the ConfigMap (\(keys))")
    }

    // MARK: The Jobs against the CLI and the image

    func testTheJobsRunScriptsTheImageInstallsWithOptionsTheCLIHas() throws {
        let dockerfile = try Dockerfile.read()
        for (file, container, subcommand) in [("shards-job.yaml", "shard", "run"), ("merge-job.yaml", "merge", "merge")] {
            let job = try manifest(file)
            let spec = try XCTUnwrap(try containers(job).first { $0["name"] as? String == container })
            let command = spec["command"] as? [String] ?? []
            XCTAssertEqual(command.count, 1, "\(file): the command is one of the scripts, which take their settings from the environment")
            let script = try XCTUnwrap(command.first)
            let path = Self.deploy.appendingPathComponent(script).path
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path), "\(path) must be executable: the image runs it by name")
            XCTAssertTrue(
                dockerfile.runtimeStage.contains { $0.hasPrefix("COPY ") && $0.contains("deploy/kubernetes/\(script)") && $0.hasSuffix(" /usr/local/bin/") },
                "the Dockerfile's runtime stage does not copy \(script) to /usr/local/bin/ (on PATH)")

            let help = try BinaryRun.run([subcommand, "--help"])
            XCTAssertEqual(help.status, 0, help.errors)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let code = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }.joined(separator: "\n")
            let options = Set(code.matches(of: /--[a-z][a-z-]*/).map { String($0.output) } + (spec["args"] as? [String] ?? []).filter { $0.hasPrefix("--") })
            XCTAssertFalse(options.isEmpty)
            for option in options.sorted() {
                XCTAssertNotNil(help.output.firstMatch(of: try Regex("\(option)([^a-z-]|$)")), "\(script) gives `\(subcommand) \(option)`, which `lwm2m-fleet \(subcommand) --help` does not list")
            }
        }
    }

    func testTheConfigMapsFleetFilesAreValid() throws {
        let data = try XCTUnwrap(try manifest("fleet-configmap.yaml")["data"] as? [String: String])
        XCTAssertFalse(data.isEmpty)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("configmap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (key, text) in data.sorted(by: { $0.key < $1.key }) {
            let path = directory.appendingPathComponent(key).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let validate = try BinaryRun.run(["validate", path])
            XCTAssertEqual(validate.status, 0, "the ConfigMap's \(key): \(validate.output)\(validate.errors)")
        }
    }

    // MARK: The image

    func testEveryLibraryTheBinaryLoadsIsStaticOrFromAPackageTheRuntimeStageInstalls() throws {
        let dockerfile = try Dockerfile.read()
        let ldd = try BoundedProcess.onPath("ldd", [ServeProcess.executable.path]).run(within: 60)
        guard ldd.status == 0, try BoundedProcess.onPath("dpkg-query", ["--version"]).run(within: 60).status == 0 else {
            throw XCTSkip("needs ldd and dpkg (a Debian machine, as the image is): \(ldd.errors)")
        }
        let installed = dockerfile.packagesInstalled(in: dockerfile.runtimeStage)
        XCTAssertTrue(installed.contains("libuv1"), "the runtime stage installs \(installed)")
        let available = try Dockerfile.withDependencies(installed)
        let staticSwift = dockerfile.buildStage.contains { $0.contains("swift build") && $0.contains("--static-swift-stdlib") }
        // This test's binary is a debug build, linked to the Swift runtime as shared libraries:
        // those are what --static-swift-stdlib links in; every other library must come from Debian.
        let libraries = ldd.output.split(separator: "\n").compactMap { line -> String? in
            line.split(separator: " ").first { $0.hasPrefix("/") }.map(String.init)
        }
        XCTAssertTrue(libraries.contains { $0.contains("libuv.so") }, ldd.output)
        for library in libraries {
            if library.contains("/swift/linux/") {
                XCTAssertTrue(staticSwift, "\(library) is the Swift runtime: build with --static-swift-stdlib or copy it into the image")
                continue
            }
            let package = try XCTUnwrap(try Dockerfile.package(owning: library), "no Debian package owns \(library)")
            // libc6: the C library, in every Debian image.
            XCTAssertTrue(package == "libc6" || available.contains(package), "\(library) comes from \(package), which the runtime stage does not install (it installs \(installed.sorted()), with their dependencies)")
        }
    }

    func testTheResourceBundlesBesideTheBinaryAreCopiedBesideItInTheImage() throws {
        let dockerfile = try Dockerfile.read()
        let binDirectory = ServeProcess.executable.deletingLastPathComponent()
        let bundles = try FileManager.default.contentsOfDirectory(atPath: binDirectory.path)
            .filter { $0.hasPrefix("lwm2m-fleet_") && $0.hasSuffix(".resources") }
        XCTAssertTrue(bundles.contains("lwm2m-fleet_LwM2M.resources"), "\(bundles)")
        // Outside the build folder a bundle is found only beside the binary (Bundle.module).
        for bundle in bundles {
            XCTAssertTrue(
                dockerfile.runtimeStage.contains { $0.hasPrefix("COPY --from=") && $0.contains(bundle) && $0.hasSuffix(" /usr/local/bin/\(bundle)") },
                "the runtime stage does not copy \(bundle) to /usr/local/bin/ beside the binary")
        }
        XCTAssertTrue(dockerfile.runtimeStage.contains { $0.hasPrefix("COPY --from=") && $0.hasSuffix(" /usr/local/bin/lwm2m-fleet") })
    }

    // MARK: Reading

    private func value(_ root: Any?, _ keys: String...) -> Any? {
        keys.reduce(root) { ($0 as? [String: Any])?[$1] }
    }

    private func string(_ root: Any?, _ keys: String...) -> String? {
        keys.reduce(root) { ($0 as? [String: Any])?[$1] } as? String
    }

    private func int(_ root: Any?, _ keys: String...) -> Int? {
        keys.reduce(root) { ($0 as? [String: Any])?[$1] } as? Int
    }

    private func containers(_ job: [String: Any]) throws -> [[String: Any]] {
        try XCTUnwrap(value(job, "spec", "template", "spec", "containers") as? [[String: Any]])
    }

    private func environment(_ job: [String: Any], container name: String) throws -> [String: String] {
        let container = try XCTUnwrap(try containers(job).first { $0["name"] as? String == name }, "no container \(name)")
        var variables: [String: String] = [:]
        for variable in container["env"] as? [[String: Any]] ?? [] {
            if let key = variable["name"] as? String, let value = variable["value"] as? String { variables[key] = value }
        }
        return variables
    }

    /// The pod's volume that container `name` mounts at `path`.
    private func volume(_ job: [String: Any], container name: String, mountedAt path: String) throws -> [String: Any]? {
        let container = try XCTUnwrap(try containers(job).first { $0["name"] as? String == name }, "no container \(name)")
        guard let mount = (container["volumeMounts"] as? [[String: Any]])?.first(where: { $0["mountPath"] as? String == path }) else { return nil }
        let volumes = value(job, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []
        return volumes.first { $0["name"] as? String == mount["name"] as? String }
    }
}

/// The repository's Dockerfile as instructions (continuation lines joined, comments left out),
/// split into its build stage and its runtime stage (the last).
private struct Dockerfile {
    var buildStage: [String]
    var runtimeStage: [String]

    static func read() throws -> Dockerfile {
        let text = try String(contentsOf: KubernetesManifestTests.repository.appendingPathComponent("Dockerfile"), encoding: .utf8)
        var instructions: [String] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") { continue }
            if trimmed.hasSuffix("\\") {
                current += trimmed.dropLast() + " "
                continue
            }
            current += trimmed
            if !current.isEmpty { instructions.append(current.split(separator: " ").joined(separator: " ")) }
            current = ""
        }
        let stages = instructions.indices.filter { instructions[$0].hasPrefix("FROM ") }
        guard stages.count >= 2, let last = stages.last else {
            throw DockerfileError("the Dockerfile has \(stages.count) stages, expected a build stage and a runtime stage")
        }
        return Dockerfile(buildStage: Array(instructions[stages[0]..<last]), runtimeStage: Array(instructions[last...]))
    }

    /// The packages of the `apt-get install` commands in `stage`.
    func packagesInstalled(in stage: [String]) -> Set<String> {
        var packages: Set<String> = []
        for instruction in stage where instruction.hasPrefix("RUN ") {
            for command in instruction.split(separator: "&&") {
                let words = command.split(separator: " ").map(String.init)
                guard let install = words.firstIndex(of: "install"), install > 0, words[install - 1] == "apt-get" else { continue }
                packages.formUnion(words[(install + 1)...].filter { !$0.hasPrefix("-") })
            }
        }
        return packages
    }

    /// `packages` and everything they depend on, as installed on this machine (apt installs the
    /// same in the image, from the same Debian release).
    static func withDependencies(_ packages: Set<String>) throws -> Set<String> {
        var found = packages
        var queue = Array(packages)
        while let package = queue.popLast() {
            let query = try BoundedProcess.onPath("dpkg-query", ["-W", "-f=${Depends},${Pre-Depends}", package]).run(within: 60)
            guard query.status == 0 else { continue }
            for alternatives in query.output.split(separator: ",") {
                for alternative in alternatives.split(separator: "|") {
                    guard let name = alternative.split(separator: " ").first?.split(separator: ":").first.map(String.init),
                          !found.contains(name) else { continue }
                    found.insert(name)
                    queue.append(name)
                }
            }
        }
        return found
    }

    /// The Debian package that installed `library` (`dpkg -S`), trying the path as ldd gives it,
    /// under /usr (Debian 12 merged /lib into /usr/lib) and with its links resolved.
    static func package(owning library: String) throws -> String? {
        let resolved = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
        for path in [library, "/usr" + library, resolved] {
            let search = try BoundedProcess.onPath("dpkg", ["-S", path]).run(within: 60)
            if search.status == 0, let owner = search.output.split(separator: ":").first {
                return String(owner)
            }
        }
        return nil
    }
}

/// The Dockerfile is not shaped as the tests expect.
private struct DockerfileError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
