import Foundation

extension LwM2MModel {
    /// The OMA core objects 0-7 (Security to Connectivity Statistics), read once from the DDF
    /// copies bundled with this module.
    public static let core: LwM2MModel = {
        guard let directory = Bundle.module.url(forResource: "CoreObjects", withExtension: nil) else {
            fatalError("CoreObjects is missing from the LwM2M module's resource bundle (a packaging bug)")
        }
        do {
            return LwM2MModel(try loadingDirectory(directory))
        } catch {
            fatalError("a bundled core object definition does not load (a packaging bug): \(error)")
        }
    }()

    /// The core objects plus `definitions`; a definition with a core object's id replaces the core one.
    public static func withCore(adding definitions: [LwM2MObjectDefinition]) -> LwM2MModel {
        var model = core
        model.add(definitions)
        return model
    }

    /// Every object defined by the `*.xml` files in `directory` (a user's `--ddf DIR`), ordered by id.
    ///
    /// XML files that define no object, as the OMA registry keeps beside its objects
    /// (`Common.xml`'s reusable resources, the `DDF.xml` index, `LWM2M_senml_units.xml`), are
    /// passed to `skipped` with the reason, so the registry's own directory loads as it is.
    /// Throws naming the file for an unreadable or invalid object file, and naming both files when
    /// two define the same object id (keep one version of each object in the directory).
    public static func loadingDirectory(
        _ directory: URL, skipped: (_ file: String, _ reason: String) -> Void = { _, _ in }
    ) throws(DDFError) -> [LwM2MObjectDefinition] {
        let files: [URL]
        do {
            files = try FileManager.default
                .contentsOfDirectory(at: directory, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
                .filter { $0.pathExtension.lowercased() == "xml" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw DDFError(source: directory.path, line: nil, reason: "cannot list the directory: \(error.localizedDescription)")
        }
        var definitions: [LwM2MObjectDefinition] = []
        var fileOfObject: [UInt16: String] = [:]
        for file in files {
            let data: Data
            do {
                data = try Data(contentsOf: file)
            } catch {
                throw DDFError(source: file.path, line: nil, reason: "cannot be read: \(error.localizedDescription)")
            }
            if let reason = notAnObjectFile(data) {
                skipped(file.path, reason)
                continue
            }
            for definition in try LwM2MObjectDefinition.parseDDF(data, source: file.path) {
                if let earlier = fileOfObject[definition.id] {
                    throw DDFError(
                        source: file.path, line: nil,
                        reason: "defines object \(definition.id), which \(earlier) defines too; keep one of them")
                }
                fileOfObject[definition.id] = file.path
                definitions.append(definition)
            }
        }
        return definitions.sorted { $0.id < $1.id }
    }

    /// Why `data` is not an object definition file, or nil when it is one: its root element is
    /// not `<LWM2M>`, or it defines no `<ObjectID>` (the registry's reusable resources).
    static func notAnObjectFile(_ data: Data) -> String? {
        let text = String(decoding: data.prefix(65_536), as: UTF8.self)
        var rest = text[...]
        // The root is the first element: past the declaration (<?), comments and doctype (<!).
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            if after.hasPrefix("?") || after.hasPrefix("!") {
                let end = after.hasPrefix("!--") ? after.range(of: "-->")?.upperBound : after.firstIndex(of: ">").map { after.index(after: $0) }
                guard let end else { return "no root element" }
                rest = after[end...]
                continue
            }
            let name = after.prefix { !$0.isWhitespace && $0 != ">" && $0 != "/" }
            guard name == "LWM2M" else { return "its root element is <\(name)>, not <LWM2M>" }
            return text.contains("<ObjectID>") ? nil : "it defines no object (no <ObjectID>)"
        }
        return "no root element"
    }
}
