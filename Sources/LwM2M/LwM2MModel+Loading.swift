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
    /// Throws naming the file for an unreadable or invalid file, and naming both files when two
    /// define the same object id (keep one version of each object in the directory).
    public static func loadingDirectory(_ directory: URL) throws(DDFError) -> [LwM2MObjectDefinition] {
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
}
