import Foundation

/// A table of text cells read from a CSV file (header first) or a JSON lines file (one object a
/// line; the keys of all lines are the columns, in first-seen order).
public struct TabularData: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String]]

    public init(columns: [String], rows: [[String]]) {
        self.columns = columns
        self.rows = rows
    }

    public static func read(path: String) throws -> TabularData {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SprintError("\(path) is not readable UTF-8 text")
        }
        if path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".ndjson") {
            return try jsonLines(text, file: path)
        }
        return try csv(text, file: path)
    }

    static func csv(_ text: String, file: String) throws -> TabularData {
        var records = CSV.records(text).filter { !($0.fields.count == 1 && $0.fields[0].isEmpty) }
        guard !records.isEmpty else { throw SprintError("\(file): empty; expected a header line and rows") }
        let columns = records.removeFirst().fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard Set(columns).count == columns.count else { throw SprintError("\(file): a column name appears twice") }
        var rows: [[String]] = []
        for record in records {
            guard record.fields.count == columns.count else {
                throw SprintError(
                    "\(file) line \(record.line): \(record.fields.count) fields where the header has \(columns.count)")
            }
            rows.append(record.fields.map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return TabularData(columns: columns, rows: rows)
    }

    static func jsonLines(_ text: String, file: String) throws -> TabularData {
        var columns: [String] = []
        var objects: [[String: String]] = []
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw SprintError("\(file) line \(index + 1): not a JSON object")
            }
            var row: [String: String] = [:]
            for (key, value) in object {
                if !columns.contains(key) { columns.append(key) }
                switch value {
                case let number as NSNumber: row[key] = number.stringValue
                case let string as String: row[key] = string
                case is NSNull: row[key] = ""
                default: row[key] = "\(value)"
                }
            }
            objects.append(row)
        }
        return TabularData(columns: columns, rows: objects.map { object in columns.map { object[$0] ?? "" } })
    }

    public func column(_ name: String) -> [String]? {
        columns.firstIndex(of: name).map { index in rows.map { $0[index] } }
    }
}
