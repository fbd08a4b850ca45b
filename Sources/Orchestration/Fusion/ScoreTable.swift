import Foundation

/// One model's per-item class scores (`scores.csv`: `split,id,label,` then one score column per
/// class), the format command trainers write for the validation and test splits and what
/// `experiment fuse` reads.
public struct ScoreTable: Sendable, Equatable {
    public let model: String
    /// The score columns, in file order. For two classes the second is the positive one.
    public let classes: [String]
    public let rows: [Row]

    public struct Row: Sendable, Equatable {
        public let split: String
        public let id: String
        public let label: String
        public let scores: [Double]
    }

    public init(model: String, classes: [String], rows: [Row]) {
        self.model = model
        self.classes = classes
        self.rows = rows
    }

    /// Reads `scores.csv` text; every problem names the file, the line and what to do.
    public static func parse(_ text: String, model: String, file: String) throws -> ScoreTable {
        var lines = CSV.records(text)
        guard !lines.isEmpty else { throw SprintError("\(file): empty; expected a header split,id,label,<class>…") }
        let header = lines.removeFirst().fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.count >= 5, header[0].lowercased() == "split", header[1].lowercased() == "id",
            header[2].lowercased() == "label"
        else {
            throw SprintError(
                "\(file): the header must be split,id,label then one score column per class (two at least), found \(header.joined(separator: ","))"
            )
        }
        let classes = Array(header.dropFirst(3))
        guard Set(classes).count == classes.count else { throw SprintError("\(file): a class column appears twice") }
        var rows: [Row] = []
        for record in lines {
            let fields = record.fields
            if fields.count == 1, fields[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard fields.count == header.count else {
                throw SprintError(
                    "\(file) line \(record.line): \(fields.count) fields where the header has \(header.count)")
            }
            let split = fields[0].trimmingCharacters(in: .whitespaces).lowercased()
            var scores: [Double] = []
            for (index, field) in fields.dropFirst(3).enumerated() {
                guard let value = Double(field.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                    throw SprintError(
                        "\(file) line \(record.line): the score of \(classes[index]) is \"\(field)\", not a finite number"
                    )
                }
                scores.append(value)
            }
            rows.append(
                Row(split: split, id: fields[1], label: fields[2].trimmingCharacters(in: .whitespaces), scores: scores))
        }
        let ids = rows.map { "\($0.split)\u{0}\($0.id)" }
        guard Set(ids).count == ids.count else { throw SprintError("\(file): an id appears twice in one split") }
        return ScoreTable(model: model, classes: classes, rows: rows)
    }

    /// Every `*.csv` in `directory`, one model each (the file name without `.csv`).
    public static func load(directory: String) throws -> [ScoreTable] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".csv") }
            .sorted()
        guard names.count >= 2 else {
            throw SprintError(
                "\(directory) holds \(names.count) scores file(s); fusion needs two models at least (one <model>.csv each)"
            )
        }
        return try names.map { name in
            let path = directory + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SprintError("\(path) is not readable UTF-8 text")
            }
            return try parse(text, model: String(name.dropLast(4)), file: path)
        }
    }
}

/// RFC 4180 records: quoted fields may hold commas, quotes (doubled) and line breaks.
enum CSV {
    struct Record {
        let line: Int
        let fields: [String]
    }

    /// A field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break.
    static func quote(_ text: String) -> String {
        text.contains(where: { ",\"\n\r".contains($0) })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func records(_ text: String) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var start = 1
        var characters = text.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if quoted {
                if character == "\"" {
                    if pending == "\"" {
                        field.append("\"")
                        pending = characters.next()
                    } else {
                        quoted = false
                    }
                } else {
                    if character.isNewline { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",":
                fields.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                fields.append(field)
                records.append(Record(line: start, fields: fields))
                fields = []
                field = ""
                line += 1
                start = line
            default: field.append(character)
            }
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(Record(line: start, fields: fields))
        }
        return records
    }
}
