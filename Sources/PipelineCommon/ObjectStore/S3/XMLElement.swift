import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A small XML tree for S3's response bodies (ListBucketResult, Error, DeleteResult, …),
/// built with Foundation's SAX parser.
struct S3XMLElement: Sendable {
    var name: String
    var text: String = ""
    var children: [S3XMLElement] = []

    /// The first child named `name`.
    func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

    /// Every child named `name`.
    func all(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    static func parse(_ data: Data) -> S3XMLElement? {
        // Only what S3 answers hold reaches Foundation's XMLParser, which traps on element names
        // that are not UTF-8 and on processing instructions without data (both found by fuzzing,
        // Fuzz/Regressions/FuzzS3XML): UTF-8, at most the XML declaration first, no other
        // processing instruction and no document type (no entity expansion either).
        guard let text = String(validating: data, as: UTF8.self) else { return nil }
        var rest = Substring(text)
        if rest.hasPrefix("<?xml "), let end = rest.range(of: "?>"), !rest[..<end.lowerBound].dropFirst().contains("<")
        {
            rest = rest[end.upperBound...]
        }
        guard !rest.contains("<?"), !rest.contains("<!DOCTYPE"), !rest.contains("<!ENTITY") else { return nil }
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [S3XMLElement] = []
        var root: S3XMLElement?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(S3XMLElement(name: elementName))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }

    /// `text` with the five XML special characters escaped, for request bodies.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for char in text {
            switch char {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(char)
            }
        }
        return out
    }
}
