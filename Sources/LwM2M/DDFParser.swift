import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension LwM2MObjectDefinition {
    /// Reads every `<Object>` of a DDF file (OMA LWM2M.xsd or LWM2M-v1_1.xsd); `source` names the file in errors.
    ///
    /// Lenient where the OMA registry itself is: `RangeEnumeration` and `Units` may be absent, the
    /// 1.1 types (`Unsigned Integer`, `Corelnk`) are accepted whichever schema the file names, and
    /// elements this model does not keep (`Description`, ...) are ignored.
    public static func parseDDF(_ data: Data, source: String) throws(DDFError) -> [LwM2MObjectDefinition] {
        let reader = DDFParser(source: source)
        let parser = XMLParser(data: data)
        parser.delegate = reader
        let finished = parser.parse()
        if let failure = reader.failure { throw failure }
        guard finished else {
            throw DDFError(
                source: source, line: reader.syntaxErrorLine ?? parser.lineNumber,
                reason: DDFParser.syntaxProblem(parser.parserError))
        }
        // swift-corelibs-foundation's XMLParser reports success for a document cut short, so check
        // that every element was closed.
        if let unclosed = reader.openElements.last {
            throw DDFError(
                source: source, line: parser.lineNumber,
                reason: "the file ends inside <\(unclosed.name)> (opened at line \(unclosed.line)); is it truncated?")
        }
        guard !reader.objects.isEmpty else {
            throw DDFError(source: source, line: nil, reason: "holds no <Object> element")
        }
        return reader.objects
    }
}

/// The XMLParser delegate behind `parseDDF`: collects the elements the model keeps and checks them.
///
/// A class because XMLParser wants an NSObject delegate; it lives for one parse only.
final class DDFParser: NSObject, XMLParserDelegate {
    /// One element's text and the line it was found on.
    private struct Field {
        var text: String
        var line: Int
    }

    /// An `<Object>` whose end tag has not been read yet.
    private struct PendingObject {
        var line: Int
        var fields: [String: Field] = [:]
        var hasResources = false
        var resources: [LwM2MResourceDefinition] = []
        /// Where each resource id was defined, to name both places when one is defined twice.
        var resourceLines: [UInt16: Int] = [:]
    }

    /// An `<Item>` (resource) whose end tag has not been read yet.
    private struct PendingItem {
        var id: UInt16
        var line: Int
        var fields: [String: Field] = [:]
    }

    private static let objectFieldNames: Set<String> = [
        "Name", "ObjectID", "ObjectURN", "LWM2MVersion", "ObjectVersion", "MultipleInstances", "Mandatory",
    ]
    private static let itemFieldNames: Set<String> = [
        "Name", "Operations", "MultipleInstances", "Mandatory", "Type", "RangeEnumeration", "Units",
    ]
    /// The `<Type>` values of LWM2M-v1_1.xsd, for error messages.
    private static let typeNames = "String, Integer, Unsigned Integer, Float, Boolean, Opaque, Time, Objlnk, Corelnk"

    private let source: String
    private(set) var objects: [LwM2MObjectDefinition] = []
    private(set) var failure: DDFError?
    /// Where XMLParser found the document not well-formed; by the time `parse()` returns, its
    /// `lineNumber` may have moved on to the end of the input.
    private(set) var syntaxErrorLine: Int?

    /// The open elements and the lines they start on, root first.
    private(set) var openElements: [(name: String, line: Int)] = []
    private var object: PendingObject?
    private var item: PendingItem?
    /// The field whose text is being collected, if any.
    private var capture: (name: String, text: String, line: Int)?

    init(source: String) {
        self.source = source
    }

    /// What to tell the user when XMLParser itself gave up.
    static func syntaxProblem(_ error: (any Error)?) -> String {
        guard let error else { return "is not well-formed XML" }
        // XMLParser passes libxml2's xmlParserErrors numbers through (swift-corelibs-foundation's
        // XMLParser.ErrorCode cases are numbered from 0, one below them, so match the numbers).
        let code = (error as NSError).code
        let detail: String
        switch code {
        case 4: detail = "the file is empty"
        case 5: detail = "the file ends before its elements are closed; is it truncated?"
        case 26: detail = "it uses an undeclared entity (write & as &amp; and < as &lt;)"
        case 76: detail = "an end tag does not match its start tag"
        default: detail = "libxml2 error \(code)"
        }
        return "is not well-formed XML: \(detail)"
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        guard failure == nil else { return }
        do {
            try startElement(elementName, attributes: attributes, line: parser.lineNumber)
        } catch {
            fail(error, parser)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        capture?.text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        capture?.text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard failure == nil else { return }
        do {
            try endElement(elementName)
        } catch {
            fail(error, parser)
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if syntaxErrorLine == nil { syntaxErrorLine = parser.lineNumber }
    }

    private func fail(_ error: DDFError, _ parser: XMLParser) {
        failure = error
        parser.abortParsing()
    }

    private func problem(_ reason: String, line: Int) -> DDFError {
        DDFError(source: source, line: line, reason: reason)
    }

    private func startElement(_ name: String, attributes: [String: String], line: Int) throws(DDFError) {
        defer { openElements.append((name, line)) }
        switch (openElements.count, name) {
        case (0, "LWM2M"):
            break
        case (0, _):
            throw problem("root element is <\(name)>, expected <LWM2M>: not an object definition (DDF) file", line: line)
        case (1, "Object"):
            object = PendingObject(line: line)
        case (2, "Resources") where object != nil:
            object?.hasResources = true
        case (3, "Item") where object != nil && openElements.last?.name == "Resources":
            let idText = attributes["ID"] ?? ""
            guard let id = UInt16(idText.trimmedSpaces) else {
                throw problem("resource <Item> has ID '\(idText)', expected a number from 0 to 65535", line: line)
            }
            item = PendingItem(id: id, line: line)
        case (2, _) where object != nil && Self.objectFieldNames.contains(name),
            (4, _) where item != nil && Self.itemFieldNames.contains(name):
            capture = (name, "", line)
        default:
            break
        }
    }

    private func endElement(_ name: String) throws(DDFError) {
        openElements.removeLast()
        if let field = capture, field.name == name {
            capture = nil
            let value = Field(text: field.text.trimmedSpaces, line: field.line)
            if item != nil { item?.fields[name] = value } else { object?.fields[name] = value }
            return
        }
        switch (openElements.count, name) {
        case (3, "Item"):
            if let finished = item {
                item = nil
                try add(finished)
            }
        case (1, "Object"):
            if let finished = object {
                object = nil
                objects.append(try definition(of: finished))
            }
        default:
            break
        }
    }

    private func add(_ item: PendingItem) throws(DDFError) {
        let subject = "resource \(item.id)"
        if let earlier = object?.resourceLines[item.id] {
            throw problem("\(subject) is defined twice (first at line \(earlier))", line: item.line)
        }
        func required(_ name: String) throws(DDFError) -> Field {
            guard let field = item.fields[name] else {
                throw problem("\(subject) has no <\(name)> element", line: item.line)
            }
            return field
        }
        let operationsField = try required("Operations")
        guard let operations = LwM2MOperations(ddfText: operationsField.text) else {
            throw problem(
                "\(subject) has Operations '\(operationsField.text)', expected R, W, RW, E or empty",
                line: operationsField.line)
        }
        let typeField = try required("Type")
        guard let type = LwM2MResourceType(ddfName: typeField.text) else {
            throw problem(
                "\(subject) has Type '\(typeField.text)', expected one of \(Self.typeNames), or empty (for executable resources)",
                line: typeField.line)
        }
        let resource = LwM2MResourceDefinition(
            id: item.id,
            name: try required("Name").text,
            operations: operations,
            isMultipleInstance: try isMultiple(try required("MultipleInstances"), subject: subject),
            isMandatory: try isMandatory(try required("Mandatory"), subject: subject),
            type: type,
            rangeEnumeration: item.fields["RangeEnumeration"]?.text ?? "",
            units: item.fields["Units"]?.text ?? ""
        )
        object?.resources.append(resource)
        object?.resourceLines[item.id] = item.line
    }

    private func definition(of object: PendingObject) throws(DDFError) -> LwM2MObjectDefinition {
        guard let idField = object.fields["ObjectID"] else {
            throw problem("<Object> has no <ObjectID> element", line: object.line)
        }
        guard let id = UInt16(idField.text) else {
            throw problem("ObjectID '\(idField.text)' is not a number from 0 to 65535", line: idField.line)
        }
        let subject = "object \(id)"
        func required(_ name: String) throws(DDFError) -> Field {
            guard let field = object.fields[name] else {
                throw problem("\(subject) has no <\(name)> element", line: object.line)
            }
            return field
        }
        guard object.hasResources else {
            throw problem("\(subject) has no <Resources> element", line: object.line)
        }
        func version(_ name: String) -> String {
            let text = object.fields[name]?.text ?? ""
            return text.isEmpty ? "1.0" : text
        }
        let urn = object.fields["ObjectURN"]?.text ?? ""
        return LwM2MObjectDefinition(
            id: id,
            name: try required("Name").text,
            objectVersion: version("ObjectVersion"),
            lwm2mVersion: version("LWM2MVersion"),
            isMultipleInstance: try isMultiple(try required("MultipleInstances"), subject: subject),
            isMandatory: try isMandatory(try required("Mandatory"), subject: subject),
            urn: urn.isEmpty ? nil : urn,
            resources: object.resources
        )
    }

    private func isMultiple(_ field: Field, subject: String) throws(DDFError) -> Bool {
        switch field.text.lowercased() {
        case "multiple": return true
        case "single": return false
        default:
            throw problem(
                "\(subject) has MultipleInstances '\(field.text)', expected Multiple or Single", line: field.line)
        }
    }

    private func isMandatory(_ field: Field, subject: String) throws(DDFError) -> Bool {
        switch field.text.lowercased() {
        case "mandatory": return true
        case "optional": return false
        default:
            throw problem("\(subject) has Mandatory '\(field.text)', expected Mandatory or Optional", line: field.line)
        }
    }
}
